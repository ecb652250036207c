//! The console's door to the network: every connection is accepted here, within caps (in
//! total and per address) and with a deadline for each request's headers — which is also how
//! long an idle kept-alive connection may wait for its next request. Without them, a PC on
//! the office network could hold a thousand half-sent requests open and leave the console
//! without a file descriptor to answer the operator with. Over HTTPS, the TLS handshake is
//! held to the same deadline.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

/// How long a client has to send a request's headers, from the moment the console waits for
/// them: a new connection's first request, or the next one on a kept-alive connection.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections open at once, in all. A station's console has a handful of visitors; the
/// service's `LimitNOFILE` leaves room above this for the journal, the audio folder and logs.
pub const MAX_CONNECTIONS: usize = 512;
/// Connections open at once from one address (a browser opens about six).
pub const MAX_PER_ADDRESS: usize = 32;
/// The largest request head (and read buffer) a client may send.
const MAX_HEAD: usize = 64 * 1024;

/// The connections open now, in all and by address.
#[derive(Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One connection's place in [`Open`], given back when the connection ends.
struct Place {
    open: Arc<Mutex<Open>>,
    ip: IpAddr,
}

impl Place {
    fn take(open: &Arc<Mutex<Open>>, ip: IpAddr) -> Option<Place> {
        let mut o = open.lock().ok()?;
        let mine = o.by_address.get(&ip).copied().unwrap_or(0);
        if o.total >= MAX_CONNECTIONS || mine >= MAX_PER_ADDRESS {
            return None;
        }
        o.total += 1;
        *o.by_address.entry(ip).or_insert(0) += 1;
        Some(Place {
            open: open.clone(),
            ip,
        })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Ok(mut o) = self.open.lock() {
            o.total = o.total.saturating_sub(1);
            if let Some(n) = o.by_address.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    o.by_address.remove(&self.ip);
                }
            }
        }
    }
}

/// Accepts connections on `listener` and serves `router` on each, until `stopping` turns
/// true; then idle connections close at once and requests under way may finish. Returns once
/// no connection is left (the caller bounds how long it waits).
pub async fn serve(
    router: Router,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stopping: watch::Receiver<bool>,
    lang: crate::lang::Lang,
) -> std::io::Result<()> {
    let open = Arc::new(Mutex::new(Open::default()));
    let mut refused_said = false;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = stopped(&mut stopping) => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors (or a connection reset before it was taken): wait a
                // moment rather than spin; the connections that end make room.
                tracing::warn!("{e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(place) = Place::take(&open, peer.ip()) else {
            // Closed unanswered: nothing is read from a client over its share.
            if !refused_said {
                tracing::warn!(
                    "{}",
                    crate::tr!(
                        lang,
                        "quá nhiều kết nối (từ {}): kết nối mới bị đóng cho đến khi bớt",
                        "too many connections (from {}): new ones are closed until some end",
                        peer.ip()
                    )
                );
                refused_said = true;
            }
            drop(stream);
            continue;
        };
        refused_said = false;
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            },
        ));
        let stop = stopping.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _place = place;
            match tls {
                None => connection(stream, service, stop).await,
                Some(tls) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(HEADER_TIMEOUT, tls.accept(stream)).await
                    {
                        connection(stream, service, stop).await;
                    }
                }
            }
        });
    }
    // Stopping: wait for the connections still open to end.
    loop {
        let left = open.lock().map_or(0, |o| o.total);
        if left == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Serves one connection (plain or TLS) until it ends or the console stops.
async fn connection<S, I>(io: I, service: S, mut stop: watch::Receiver<bool>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<
            hyper::Request<Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD);
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// [`serve`] until `shutdown` completes: then requests under way get [`super::STOP_GRACE`] to
/// finish, and a client that holds its connection open does not keep the console from
/// stopping (within the 3 s the service allows). Both consoles stop this way.
pub async fn serve_until(
    router: Router,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stopping: watch::Sender<bool>,
    lang: crate::lang::Lang,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let server = serve(router, listener, tls, stopping.subscribe(), lang);
    let deadline = async move {
        shutdown.await;
        stopping.send_replace(true);
        tokio::time::sleep(super::STOP_GRACE).await;
    };
    tokio::select! {
        r = server => r,
        () = deadline => Ok(()),
    }
}

/// Completes once `stopping` is true (or its sender is gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_capped_per_address_and_in_all_and_given_back() {
        let open = Arc::new(Mutex::new(Open::default()));
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let mut held: Vec<Place> = (0..MAX_PER_ADDRESS)
            .map(|_| Place::take(&open, a).unwrap())
            .collect();
        assert!(Place::take(&open, a).is_none(), "over one address's share");
        held.pop();
        assert!(
            Place::take(&open, a).is_some(),
            "a place given back is free"
        );
        drop(held);
        let mut all = Vec::new();
        for i in 0..MAX_CONNECTIONS {
            let ip = IpAddr::from([127, 1, (i / 250) as u8, (i % 250) as u8]);
            all.push(Place::take(&open, ip).unwrap());
        }
        assert!(Place::take(&open, "127.9.9.9".parse().unwrap()).is_none());
        drop(all);
        assert_eq!(open.lock().unwrap().total, 0);
        assert!(open.lock().unwrap().by_address.is_empty());
    }
}
