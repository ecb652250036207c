// The Record page's live audio worklet: hands the microphone's samples to the page as the
// audio thread gets them (128 frames at a time), for the page to encode as Opus and send.
class LoaxaTap extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor("loaxa-tap", LoaxaTap);
