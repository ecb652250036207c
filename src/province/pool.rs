//! The console's connections to the centre's PostgreSQL. A request takes one to itself — the
//! central functions run their writes as `BEGIN … COMMIT` on the connection they are given, so
//! two requests must never share one — and gives it back when done; a few are kept open for
//! the next requests.

use std::sync::Mutex;

use tokio_postgres::Client;

use crate::central::{self, CentralError, Target};

/// Connections kept open between requests (a province's console has a handful of visitors).
const KEPT: usize = 4;

pub(crate) struct Pool {
    pub(crate) target: Target,
    idle: Mutex<Vec<Client>>,
}

/// A connection held by one request.
pub(crate) struct Conn<'a> {
    pool: &'a Pool,
    client: Option<Client>,
}

impl Pool {
    pub(crate) fn new(target: Target) -> Pool {
        Pool {
            target,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// A connection of this request's own: one kept open, or a new one.
    pub(crate) async fn get(&self) -> Result<Conn<'_>, CentralError> {
        loop {
            let kept = self.idle.lock().ok().and_then(|mut v| v.pop());
            let Some(client) = kept else { break };
            if client.is_closed() {
                continue;
            }
            // A request cut off mid-write (its visitor gone) may have left a transaction open:
            // whatever it was is undone before the connection serves anyone else.
            if client.batch_execute("ROLLBACK").await.is_ok() {
                return Ok(Conn {
                    pool: self,
                    client: Some(client),
                });
            }
        }
        let client = central::connect(&self.target).await?;
        Ok(Conn {
            pool: self,
            client: Some(client),
        })
    }
}

impl std::ops::Deref for Conn<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        // Present from creation until drop.
        self.client.as_ref().expect("a held connection")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if client.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.pool.idle.lock() {
            if idle.len() < KEPT {
                idle.push(client);
            }
        }
    }
}
