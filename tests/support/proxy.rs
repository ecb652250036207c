//! A TCP proxy that cuts a connection after a set number of bytes: its first one after so
//! many from the client (a link that drops in the middle of a request), or the first one
//! that carries so many to the client (one that drops in the middle of an answer), for tests
//! of what survives it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct CutProxy {
    pub port: u16,
    /// Connections cut so far.
    pub cuts: Arc<AtomicUsize>,
}

impl CutProxy {
    /// Forwards 127.0.0.1:`port` to 127.0.0.1:`to`; the first connection is cut once
    /// `after` bytes have gone from the client to the server.
    pub fn start(to: u16, after: usize) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cuts = Arc::new(AtomicUsize::new(0));
        let c = cuts.clone();
        std::thread::spawn(move || {
            for (n, client) in listener.incoming().enumerate() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else {
                    continue;
                };
                let limit = if n == 0 { Some(after) } else { None };
                let cuts = c.clone();
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pump(s2, c2, None, &cuts));
                let cuts = c.clone();
                std::thread::spawn(move || pump(client, server, limit, &cuts));
            }
        });
        CutProxy { port, cuts }
    }

    /// Forwards 127.0.0.1:`port` to 127.0.0.1:`to`; the first connection that carries
    /// `after` bytes from the server to the client is cut there (once).
    pub fn start_down(to: u16, after: usize) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cuts = Arc::new(AtomicUsize::new(0));
        let c = cuts.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else {
                    continue;
                };
                let limit = (c.load(Ordering::SeqCst) == 0).then_some(after);
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let cuts = c.clone();
                std::thread::spawn(move || pump(s2, c2, limit, &cuts));
                let cuts = c.clone();
                std::thread::spawn(move || pump(client, server, None, &cuts));
            }
        });
        CutProxy { port, cuts }
    }
}

/// Copies `from` to `to`; past `limit` bytes, cuts both.
fn pump(mut from: TcpStream, mut to: TcpStream, limit: Option<usize>, cuts: &AtomicUsize) {
    let mut buf = [0u8; 16 * 1024];
    let mut sent = 0;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let n = match limit {
            Some(l) if sent + n >= l => {
                let _ = to.write_all(&buf[..l - sent]);
                cuts.fetch_add(1, Ordering::SeqCst);
                break;
            }
            _ => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        sent += n;
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
