// loaxa console: the little script the pages use (they work without it): live updates by
// server-sent events, uploads with a progress bar each, drag and drop, the chain
// verification's progress, recording from the microphone. No inline script anywhere: the Content-Security-Policy forbids it.
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";

  // Live region: refetch the page when the daemon publishes a change.
  const live = document.getElementById("live");
  if (live && window.EventSource) {
    let busy = false;
    const refresh = () => {
      if (busy) return;
      busy = true;
      fetch(location.href, { credentials: "same-origin" })
        .then((r) => r.text())
        .then((html) => {
          const doc = new DOMParser().parseFromString(html, "text/html");
          const fresh = doc.getElementById("live");
          if (fresh) live.innerHTML = fresh.innerHTML;
        })
        .finally(() => { busy = false; });
    };
    const es = new EventSource(live.dataset.live);
    es.addEventListener("change", refresh);
    // Progress bars move between events too.
    setInterval(() => { if (live.querySelector("progress")) refresh(); }, 1000);
  }

  // Uploads: one request per file, each with its own progress bar.
  const form = document.getElementById("upload-form");
  const input = document.getElementById("files");
  const drop = document.getElementById("drop");
  if (drop && input) {
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      input.files = e.dataTransfer.files;
    });
  }
  if (form && input && window.XMLHttpRequest) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const folder = form.querySelector('select[name="folder"]').value;
      const list = document.getElementById("progress");
      Array.from(input.files).forEach((file) => {
        const row = document.createElement("div");
        row.className = "upload-row";
        const bar = document.createElement("progress");
        bar.max = 100; bar.value = 0;
        const label = document.createElement("span");
        label.textContent = file.name;
        row.append(bar, label);
        list.append(row);
        const data = new FormData();
        data.append("folder", folder);
        data.append("file", file, file.name);
        const xhr = new XMLHttpRequest();
        xhr.open("POST", "/library/upload");
        xhr.setRequestHeader("X-CSRF-Token", csrf);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.addEventListener("progress", (ev) => {
          if (ev.lengthComputable) bar.value = Math.round((ev.loaded * 100) / ev.total);
        });
        xhr.addEventListener("load", () => {
          let msg = xhr.statusText;
          try { msg = JSON.parse(xhr.responseText).map((r) => r.message).join("; "); } catch (_) { msg = xhr.responseText.replace(/<[^>]*>/g, " ").trim(); }
          bar.value = 100;
          label.textContent = file.name + " — " + msg;
          label.className = xhr.status === 200 ? "ok upload-done" : "bad upload-failed";
        });
        xhr.addEventListener("error", () => { label.textContent = file.name + " — ✗"; label.className = "bad upload-failed"; });
        xhr.send(data);
      });
    });
  }

  // The Record page: the microphone recorded (MediaRecorder) with its level shown, the take
  // played back and trimmed (the part kept is made a WAV here), then saved with the form's
  // fields in the form's order. Without it the form posts a chosen file as it is.
  const recorder = document.getElementById("recorder");
  const recForm = document.getElementById("record-form");
  if (recorder && recForm && navigator.mediaDevices && window.MediaRecorder && window.AudioContext) {
    const $ = (id) => document.getElementById(id);
    const [start, stop, level, clock, take, trim, state, result] =
      ["rec-start", "rec-stop", "rec-level", "rec-time", "take", "trim", "rec-state", "rec-result"].map($);
    recorder.hidden = false;
    $("rec-noscript").hidden = true;
    let chunks = [], blob = null, decoded = null, began = 0, frame = 0;
    const minutes = (s) => Math.floor(s / 60) + ":" + String(Math.floor(s % 60)).padStart(2, "0");
    const ext = (type) => type.includes("ogg") ? "ogg" : (type.includes("mp4") || type.includes("aac")) ? "m4a" : "webm";
    start.addEventListener("click", async () => {
      let mic;
      try {
        mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
      } catch (_) {
        state.textContent = recorder.dataset.nomic;
        state.className = "bad";
        return;
      }
      const ctx = new AudioContext();
      const meter = ctx.createAnalyser();
      meter.fftSize = 2048;
      ctx.createMediaStreamSource(mic).connect(meter);
      const samples = new Float32Array(meter.fftSize);
      const draw = () => {
        meter.getFloatTimeDomainData(samples);
        let peak = 0;
        for (const x of samples) peak = Math.max(peak, Math.abs(x));
        level.value = peak;
        clock.textContent = minutes((Date.now() - began) / 1000);
        frame = requestAnimationFrame(draw);
      };
      chunks = [];
      const rec = new MediaRecorder(mic);
      rec.addEventListener("dataavailable", (e) => { if (e.data.size) chunks.push(e.data); });
      rec.addEventListener("stop", async () => {
        cancelAnimationFrame(frame);
        level.value = 0;
        mic.getTracks().forEach((t) => t.stop());
        const type = rec.mimeType || (chunks[0] && chunks[0].type) || "audio/webm";
        blob = new Blob(chunks, { type: type });
        take.src = URL.createObjectURL(blob);
        take.hidden = false;
        try {
          decoded = await ctx.decodeAudioData(await blob.arrayBuffer());
          $("take-length").textContent = decoded.duration.toFixed(1) + " s";
          trim.hidden = false;
        } catch (_) { decoded = null; }
        ctx.close();
        state.textContent = recorder.dataset.recorded;
        state.className = "ok";
        recorder.dataset.state = "recorded";
        start.disabled = false;
        stop.disabled = true;
      });
      stop.onclick = () => { if (rec.state !== "inactive") rec.stop(); };
      rec.start(250);
      began = Date.now();
      draw();
      start.disabled = true;
      stop.disabled = false;
      state.textContent = recorder.dataset.recording;
      state.className = "bad";
      recorder.dataset.state = "recording";
    });
    // The take between the trims, mixed to one channel, as 16-bit PCM WAV.
    const wav = (buf, cutStart, cutEnd) => {
      const rate = buf.sampleRate;
      const from = Math.min(buf.length, Math.round(cutStart * rate));
      const to = Math.max(from, buf.length - Math.round(cutEnd * rate));
      const n = to - from;
      const out = new DataView(new ArrayBuffer(44 + n * 2));
      const text = (at, s) => { for (let i = 0; i < s.length; i++) out.setUint8(at + i, s.charCodeAt(i)); };
      text(0, "RIFF"); out.setUint32(4, 36 + n * 2, true); text(8, "WAVE"); text(12, "fmt ");
      out.setUint32(16, 16, true); out.setUint16(20, 1, true); out.setUint16(22, 1, true);
      out.setUint32(24, rate, true); out.setUint32(28, rate * 2, true); out.setUint16(32, 2, true);
      out.setUint16(34, 16, true); text(36, "data"); out.setUint32(40, n * 2, true);
      const channels = [];
      for (let c = 0; c < buf.numberOfChannels; c++) channels.push(buf.getChannelData(c));
      for (let i = 0; i < n; i++) {
        let x = 0;
        for (const d of channels) x += d[from + i];
        x = Math.max(-1, Math.min(1, x / channels.length));
        out.setInt16(44 + i * 2, x < 0 ? x * 0x8000 : x * 0x7fff, true);
      }
      return new Blob([out], { type: "audio/wav" });
    };
    recForm.addEventListener("submit", async (e) => {
      if (!blob) return;
      e.preventDefault();
      const cutStart = parseFloat($("trim-start").value) || 0;
      const cutEnd = parseFloat($("trim-end").value) || 0;
      const trimmed = decoded && (cutStart > 0 || cutEnd > 0);
      const data = new FormData();
      data.append("name", $("rec-name").value);
      data.append("title", $("rec-title").value);
      data.append("to", $("rec-to").value);
      if ($("rec-confirm").checked) data.append("confirm", "yes");
      data.append("file", trimmed ? wav(decoded, cutStart, cutEnd) : blob,
        trimmed ? "take.wav" : "take." + ext(blob.type));
      result.textContent = recorder.dataset.saving;
      result.className = "";
      const r = await fetch("/record", { method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } });
      const body = await r.text();
      let said;
      try { said = JSON.parse(body).message; } catch (_) { said = body.replace(/<[^>]*>/g, " ").trim(); }
      result.textContent = said;
      result.className = r.ok ? "ok rec-saved" : "bad rec-failed";
    });
  }

  // Live from this browser: the microphone encoded as Opus by the browser (WebCodecs, 20 ms a
  // packet), each packet sent over a WebSocket to the console, which passes the stream on to
  // the daemon. The console says "on-air" when the daemon takes it and closes the socket,
  // with the reason, when the live broadcast ends.
  const voice = document.getElementById("live-browser");
  if (voice && navigator.mediaDevices && window.AudioEncoder && window.AudioWorkletNode) {
    const $ = (id) => document.getElementById(id);
    const [go, end, level, state, priority] =
      ["live-go", "live-end", "live-level", "live-state", "live-browser-priority"].map($);
    voice.hidden = false;
    $("live-browser-none").hidden = true;
    let ws = null, ctx = null, mic = null, enc = null;
    const say = (text, cls) => { state.textContent = text; state.className = cls; voice.dataset.state = cls; };
    const release = () => {
      if (mic) mic.getTracks().forEach((t) => t.stop());
      if (ctx) ctx.close();
      if (enc && enc.state !== "closed") enc.close();
      mic = ctx = enc = null;
      level.value = 0;
      go.disabled = false;
      end.disabled = true;
    };
    go.addEventListener("click", async () => {
      go.disabled = true;
      try {
        mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
      } catch (_) {
        say(voice.dataset.nomic, "bad");
        release();
        return;
      }
      let tap;
      try {
        ctx = new AudioContext({ sampleRate: 48000 });
        await ctx.audioWorklet.addModule("/assets/live-worklet.js");
        tap = new AudioWorkletNode(ctx, "loaxa-tap");
        const mute = ctx.createGain();
        mute.gain.value = 0;
        ctx.createMediaStreamSource(mic).connect(tap);
        tap.connect(mute);
        mute.connect(ctx.destination);
        await ctx.resume();
      } catch (_) {
        // A microphone this browser cannot take at 48 kHz, say: said, and let go.
        say(voice.dataset.nomic, "bad");
        release();
        return;
      }
      let opened = false;
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      ws = new WebSocket(scheme + "//" + location.host + "/live/browser?csrf=" + encodeURIComponent(csrf) +
        "&priority=" + encodeURIComponent(priority.value));
      ws.binaryType = "arraybuffer";
      enc = new AudioEncoder({
        output: (chunk) => {
          if (!ws || ws.readyState !== WebSocket.OPEN) return;
          const packet = new Uint8Array(chunk.byteLength);
          chunk.copyTo(packet);
          ws.send(packet);
        },
        error: () => { if (ws) ws.close(); },
      });
      try {
        enc.configure({ codec: "opus", sampleRate: 48000, numberOfChannels: 1, bitrate: 48000, opus: { frameDuration: 20000 } });
      } catch (_) {
        say(voice.dataset.nomic, "bad");
        ws.close();
        release();
        return;
      }
      let at = 0;
      tap.port.onmessage = (e) => {
        const x = e.data;
        let peak = 0;
        for (const v of x) peak = Math.max(peak, Math.abs(v));
        level.value = Math.max(peak, level.value * 0.9);
        // Nothing piles up behind a slow link: a voice late is worse than a gap.
        if (!enc || !ws || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > 64000 || enc.encodeQueueSize > 50) return;
        const frame = new AudioData({ format: "f32-planar", sampleRate: 48000, numberOfFrames: x.length, numberOfChannels: 1, timestamp: at, data: x });
        enc.encode(frame);
        frame.close();
        at += x.length * 1e6 / 48000;
      };
      ws.onopen = () => { opened = true; say(voice.dataset.waiting, "waiting"); end.disabled = false; };
      ws.onmessage = (e) => { if (e.data === "on-air") say(voice.dataset.onair, "on-air"); };
      ws.onclose = (e) => {
        say(e.reason || (opened ? voice.dataset.ended : voice.dataset.nolink), e.code === 1000 ? "ended" : "bad");
        ws = null;
        release();
      };
    });
    end.addEventListener("click", () => { if (ws && ws.readyState === WebSocket.OPEN) ws.send("stop"); end.disabled = true; });
  }

  // The province's compose form: a commune picked on the map is ticked in the list.
  document.querySelectorAll("svg.map.pick circle[data-station]").forEach((c) => {
    const box = document.querySelector('input[name="to"][value="' + c.dataset.station + '"]');
    if (!box) return;
    const show = () => c.setAttribute("stroke", box.checked ? "#000000" : "#ffffff");
    c.style.cursor = "pointer";
    c.addEventListener("click", () => { box.checked = !box.checked; show(); });
    box.addEventListener("change", show);
  });

  // The chain verification's progress.
  const verify = document.getElementById("verify");
  if (verify) {
    const bar = document.getElementById("verify-progress");
    const pct = document.getElementById("verify-percent");
    const result = document.getElementById("verify-result");
    const poll = () => {
      fetch(verify.dataset.poll, { credentials: "same-origin" })
        .then((r) => r.json())
        .then((s) => {
          bar.value = s.percent; pct.textContent = s.percent + "%";
          if (s.result) result.textContent = s.result;
          if (s.running) setTimeout(poll, 300);
        });
    };
    poll();
  }
})();
