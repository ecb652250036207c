//! Live from a browser elsewhere in the commune office (the Record page's "Phát trực tiếp từ
//! trình duyệt này"): the browser encodes its microphone as Opus and sends each 20 ms packet
//! over a WebSocket; the console wraps the packets in Ogg pages and passes them on, on a
//! loopback port opened for that one broadcast, as the stream the daemon relays by its one
//! relay path (`relay::Source::Browser`). The daemon decides when the voice airs (the priority
//! rules, quiet hours, emergencies) and journals it; the console only carries it, and tells
//! the page when it is on air and why it ended.
//!
//! The socket is a change like any other: the guard has checked the session, the operator
//! role, the CSRF token (in the address: a browser cannot set headers on a WebSocket) and the
//! origin before the upgrade.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpListener;

use super::input::{Query, Socket};
use super::{App, Refusal, Visitor};
use crate::lang::Lang;
use crate::mailbox::What;
use crate::stream::codec::{ogg_page, opus_header_pages, opus_packet_samples};

/// Packets kept for the daemon while it has not taken the voice yet (it waits for what is on
/// air, by the priority rules): the latest half second, so that the voice airs close behind
/// the speaker once it does.
const WAITING: usize = 25;
/// The largest message a browser may send: an Opus packet is a few hundred bytes.
const MESSAGE_LIMIT: usize = 16 * 1024;
/// How long the daemon may take to ask for the feed once connected.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// After the operator presses Stop, how long the voice still goes to the daemon while it ends
/// the broadcast.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// A browser that sends nothing for this long is gone (a phone asleep, a network that dropped
/// without closing): its packets come every 20 ms.
const SILENT_BROWSER: Duration = Duration::from_secs(2);
/// Connections to the loopback port read at once (the daemon's and strays).
const MAX_ASKING: usize = 8;
/// How long a write to the daemon may wait: it reads as the voice airs.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Deserialize)]
pub(super) struct LiveQuery {
    #[serde(default)]
    priority: String,
}

/// `GET /live/browser?priority=…&csrf=…` upgraded to a WebSocket: the voice of the browser
/// that opened it, handed to the daemon as a live occurrence at that priority.
pub(super) async fn socket(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<LiveQuery>,
    Socket(upgrade): Socket,
) -> Response {
    let lang = v.lang;
    let priority = match super::upload::live_priority(&q.priority, lang) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    // From here a refusal is the station's state, not the request's: the socket opens and
    // closes at once with why, for the page to say (a refused upgrade tells a page nothing).
    if app.live_status(chrono::Utc::now()).is_none() {
        return closed_with(upgrade, crate::config::live_needs_daemon(lang).into());
    }
    // One browser at a time: a second voice would queue behind the first as its own
    // occurrence, and the two speakers would not hear of each other.
    let Some(turn) = Turn::take(&app) else {
        return closed_with(
            upgrade,
            lang.pick(
                "đang có một trình duyệt khác phát trực tiếp",
                "another browser is live already",
            )
            .into(),
        );
    };
    // The request is handed over only once the socket is open: a client gone before then
    // leaves nothing queued.
    let live_max = app.config.live_max;
    upgrade
        .max_message_size(MESSAGE_LIMIT)
        .max_frame_size(MESSAGE_LIMIT)
        .on_upgrade(move |mut socket| async move {
            let listener = match TcpListener::bind(("127.0.0.1", 0)).await {
                Ok(l) => l,
                Err(e) => return close_now(&mut socket, &format!("127.0.0.1: {e}")).await,
            };
            let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
            let path = format!("/{}.opus", crate::net::token());
            let feed = format!("http://127.0.0.1:{port}{path}");
            let mut action = v.action(What::LiveStart);
            action.detail = Some(priority.code().to_string());
            action.feed = Some(feed.clone());
            if let Err(refused) = super::blocking(&app, move |a| a.record(action)).await {
                let said = match refused {
                    Refusal::Failed(s) | Refusal::Invalid(s) | Refusal::Forbidden(s) => s,
                    _ => lang
                        .pick(
                            "không chuyển được yêu cầu",
                            "the request could not be handed over",
                        )
                        .into(),
                };
                return close_now(&mut socket, &said).await;
            }
            let live = Live {
                listener: &listener,
                path: &path,
                feed: &feed,
                taken_within: live_max,
            };
            let (end, taken) = carry(&app, socket, &live, &v).await;
            if !taken && end != End::Stopped {
                // The voice never reached the daemon: its request must not put a silent
                // occurrence on air later (this voice's only: the stop names it).
                let mut stop = v.action(What::LiveStop);
                stop.feed = Some(feed);
                let _ = super::blocking(&app, move |a| a.record(stop)).await;
            }
            drop(turn);
        })
}

/// One browser's voice as the console passes it on: the loopback port the daemon takes it
/// from, the one-time path it asks for, the whole address (which names this voice to the
/// daemon), and how long the daemon may take to take it.
struct Live<'a> {
    listener: &'a TcpListener,
    path: &'a str,
    feed: &'a str,
    taken_within: Duration,
}

/// Opens the socket only to close it at once with `why` (code 4000), which the page shows.
fn closed_with(upgrade: WebSocketUpgrade, why: String) -> Response {
    upgrade.on_upgrade(move |mut socket| async move { close_now(&mut socket, &why).await })
}

/// Closes an open socket with `why` (code 4000): the station could not take the voice.
async fn close_now(socket: &mut WebSocket, why: &str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: 4000,
            reason: close_reason(why).into(),
        })))
        .await;
}

/// A close frame's reason: at most 123 bytes, cut on a letter's edge.
fn close_reason(text: &str) -> &str {
    let mut end = text.len().min(123);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The console's one live browser; given back when its socket ends.
struct Turn(Arc<App>);

impl Turn {
    fn take(app: &Arc<App>) -> Option<Turn> {
        (!app.live_browser.swap(true, Ordering::SeqCst)).then(|| Turn(app.clone()))
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.0.live_browser.store(false, Ordering::SeqCst);
    }
}

/// How a live voice from a browser ended, as the console saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The operator pressed Stop (handed to the daemon as any live stop).
    Stopped,
    /// The daemon closed the feed: the occurrence ended there (its maximum length, an
    /// emergency, a stop from elsewhere).
    ByStation,
    /// The browser went: closed, dropped, or silent.
    BrowserGone,
    /// The console is stopping.
    Console,
    /// The daemon never took the voice (it may have dropped the request).
    NotTaken,
}

impl End {
    fn said(self, lang: Lang) -> &'static str {
        match self {
            End::Stopped => lang.pick("đã dừng phát trực tiếp", "the live broadcast ended"),
            End::ByStation => lang.pick(
                "đài đã kết thúc phát trực tiếp (hết thời lượng, tin khẩn cấp hoặc lệnh dừng)",
                "the station ended the live broadcast (its length, an emergency or a stop)",
            ),
            End::BrowserGone => lang.pick("mất kết nối với trình duyệt", "the browser went"),
            End::Console => lang.pick("bảng điều khiển đang dừng", "the console is stopping"),
            End::NotTaken => lang.pick(
                "đài không nhận giọng nói này: hãy thử lại",
                "the station did not take the voice: try again",
            ),
        }
    }
}

/// Carries one browser's voice until it ends, and says why to the page. Also says whether
/// the daemon took the voice: if it did, the daemon saw the end for itself.
async fn carry(app: &Arc<App>, mut socket: WebSocket, live: &Live<'_>, v: &Visitor) -> (End, bool) {
    let mut ogg = OggOpus::default();
    let mut waiting: VecDeque<Vec<u8>> = VecDeque::new();
    let mut to_daemon: Option<OwnedWriteHalf> = None;
    let mut from_daemon: Option<OwnedReadHalf> = None;
    let mut stop_by: Option<tokio::time::Instant> = None;
    let mut stopping = app.stopping.subscribe();
    // Connections to the loopback port, each read on its own: one that sends nothing holds
    // up no other (the daemon's among them).
    let mut asking: tokio::task::JoinSet<Option<(OwnedReadHalf, OwnedWriteHalf)>> =
        tokio::task::JoinSet::new();
    let untaken = tokio::time::Instant::now() + live.taken_within;
    let end = loop {
        tokio::select! {
            accepted = live.listener.accept(), if to_daemon.is_none() => {
                let Ok((stream, _)) = accepted else { continue };
                if asking.len() < MAX_ASKING {
                    let path = live.path.to_string();
                    asking.spawn(async move {
                        tokio::time::timeout(REQUEST_TIMEOUT, answer(stream, &path)).await.ok()?.ok()?
                    });
                }
            }
            Some(asked) = asking.join_next(), if to_daemon.is_none() && !asking.is_empty() => {
                let Ok(Some((r, mut w))) = asked else { continue };
                asking.abort_all();
                let mut start = ogg.start();
                for packet in waiting.drain(..) {
                    ogg.page(&packet, &mut start);
                }
                if w.write_all(&start).await.is_err() {
                    continue;
                }
                let _ = socket.send(Message::Text("on-air".into())).await;
                (to_daemon, from_daemon) = (Some(w), Some(r));
            }
            message = tokio::time::timeout(SILENT_BROWSER, socket.recv()) => match message {
                Ok(Some(Ok(Message::Binary(packet)))) => match to_daemon.as_mut() {
                    Some(w) => {
                        let mut page = Vec::with_capacity(packet.len() + 64);
                        ogg.page(&packet, &mut page);
                        if !matches!(tokio::time::timeout(WRITE_TIMEOUT, w.write_all(&page)).await, Ok(Ok(()))) {
                            break if stop_by.is_some() { End::Stopped } else { End::ByStation };
                        }
                    }
                    None => {
                        waiting.push_back(packet.to_vec());
                        if waiting.len() > WAITING {
                            waiting.pop_front();
                        }
                    }
                },
                Ok(Some(Ok(Message::Text(t)))) if t.as_str() == "stop" && stop_by.is_none() => {
                    let mut stop = v.action(What::LiveStop);
                    stop.feed = Some(live.feed.to_string());
                    let _ = super::blocking(app, move |a| a.record(stop)).await;
                    if to_daemon.is_none() {
                        break End::Stopped;
                    }
                    stop_by = Some(tokio::time::Instant::now() + STOP_GRACE);
                }
                Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) | Err(_) => break End::BrowserGone,
                Ok(Some(Ok(_))) => {}
            },
            // The daemon never writes: a read that returns is its end of the feed.
            _ = closed(from_daemon.as_mut()) => {
                break if stop_by.is_some() { End::Stopped } else { End::ByStation };
            }
            () = tokio::time::sleep_until(stop_by.unwrap_or_else(tokio::time::Instant::now)), if stop_by.is_some() => {
                break End::Stopped;
            }
            // The daemon may wait for what is on air, but not for ever: a request it dropped
            // (loaxa restarted, say) must not keep the page waiting and other browsers out.
            () = tokio::time::sleep_until(untaken), if to_daemon.is_none() => break End::NotTaken,
            _ = stopping.changed() => break End::Console,
        }
    };
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: match end {
                End::BrowserGone => 1001,
                End::NotTaken => 4000,
                _ => 1000,
            },
            reason: close_reason(end.said(v.lang)).into(),
        })))
        .await;
    (end, to_daemon.is_some())
}

/// Resolves once the daemon's side of the feed closes; never without one.
async fn closed(from_daemon: Option<&mut OwnedReadHalf>) {
    let Some(r) = from_daemon else {
        return std::future::pending().await;
    };
    let mut sink = [0u8; 256];
    while let Ok(n @ 1..) = r.read(&mut sink).await {
        let _ = n;
    }
}

/// Reads the daemon's request for the feed and answers it; anything else that connects to
/// the loopback port is turned away.
async fn answer(
    stream: tokio::net::TcpStream,
    path: &str,
) -> std::io::Result<Option<(OwnedReadHalf, OwnedWriteHalf)>> {
    let (mut r, mut w) = stream.into_split();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|x| x == b"\r\n\r\n") {
        let n = r.read(&mut buf).await?;
        if n == 0 || head.len() + n > 8192 {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
    }
    let wanted = format!("GET {path} ");
    if !head.starts_with(wanted.as_bytes()) {
        w.write_all(b"HTTP/1.0 404 Not Found\r\nConnection: close\r\n\r\n")
            .await?;
        return Ok(None);
    }
    w.write_all(
        b"HTTP/1.0 200 OK\r\nContent-Type: audio/ogg\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
    )
    .await?;
    Ok(Some((r, w)))
}

/// The browser's Opus packets as an Ogg Opus stream, one packet a page so that each goes on
/// as soon as it comes.
#[derive(Default)]
struct OggOpus {
    sequence: u32,
    granule: u64,
}

impl OggOpus {
    /// Serial number of the one logical stream.
    const SERIAL: u32 = 0x6c6f_6178;
    /// The encoder's look-ahead at 48 kHz, which browsers' libopus has (312 samples).
    const PRE_SKIP: u16 = 312;

    /// The header pages: mono, as the page records.
    fn start(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        opus_header_pages(&mut out, Self::SERIAL, 1, Self::PRE_SKIP, &[]);
        self.sequence = 2;
        out
    }

    fn page(&mut self, packet: &[u8], out: &mut Vec<u8>) {
        self.granule += opus_packet_samples(packet);
        ogg_page(out, Self::SERIAL, self.sequence, self.granule, 0, &[packet]);
        self.sequence += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_reason_fits_its_frame_and_keeps_whole_letters() {
        let long = "đài đã kết thúc phát trực tiếp ".repeat(10);
        let cut = close_reason(&long);
        assert!(cut.len() <= 123 && long.starts_with(cut), "{cut}");
        assert_eq!(close_reason("ngắn"), "ngắn");
        for end in [
            End::Stopped,
            End::ByStation,
            End::BrowserGone,
            End::Console,
            End::NotTaken,
        ] {
            for lang in [Lang::Vi, Lang::En] {
                assert_eq!(close_reason(end.said(lang)), end.said(lang), "said whole");
            }
        }
    }
}
