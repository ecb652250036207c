//! The downward half of `loaxa sync`: a connection that listens for the province's
//! bulletins (`LISTEN`), fetches those addressed to this station through the calls that show
//! a station only its own, and takes each in through the operator's doors
//! (`crate::bulletin`), telling the daemon what it did through the mailbox so the journal
//! carries it up. After time offline it catches up on reconnect — everything still valid,
//! in order; what ended meanwhile is journaled expired and never aired — and it looks again
//! every [`RECHECK`] whatever it hears, so a lost notification costs at most that. At each
//! look it also sends the station's heartbeat (`crate::status::heartbeat`, given by the
//! caller): whether its daemon runs, what is on air, whether the output is up, and how many
//! events wait to be sent.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;

use super::SyncConfig;
use crate::bulletin::{self, Bulletin, Doors, Ledger, Next, State, Taken};
use crate::central::{self, CentralError};
use crate::lang::Lang;
use crate::library::ProbeCache;
use crate::mailbox::What;
use crate::tr;

/// How often the listener looks for bulletins without being told.
pub const RECHECK: Duration = Duration::from_secs(30);
const RETRY: Duration = Duration::from_secs(5);

/// Where bulletins go at this station.
pub struct Station<'a> {
    pub audio_dir: &'a Path,
    pub emergency_dir: &'a str,
    pub journal: &'a Path,
}

/// One look: every bulletin addressed to the station, dealt with in order. Returns how
/// many were handed in.
pub async fn pass(
    sync: &SyncConfig,
    client: &tokio_postgres::Client,
    station: &Station<'_>,
    probes: &ProbeCache,
    lang: Lang,
) -> Result<usize, CentralError> {
    let t = &sync.target;
    let list = central::bulletin::bulletins_for(t, client, &sync.station).await?;
    let path = bulletin::path_for(station.journal);
    let mut ledger = Ledger::read(&path);
    let doors = Doors {
        audio_dir: station.audio_dir,
        emergency_dir: station.emergency_dir,
    };
    let mut handed = 0;
    for b in &list {
        let now = Utc::now();
        let taken = ledger.taken.get(&b.id).cloned();
        let (state, file) = match bulletin::next(b, taken.as_ref(), now) {
            Next::Nothing => continue,
            Next::Expire => {
                tell(station, b, What::BulletinExpired, None, ended(b, lang), t);
                (State::Expired, None)
            }
            Next::Withdraw => {
                let file = taken.and_then(|t| t.file);
                let removed = file
                    .as_deref()
                    .is_some_and(|f| bulletin::remove_waiting(&doors, f));
                let reason = b
                    .withdrawn
                    .as_ref()
                    .map(|w| w.reason.clone())
                    .unwrap_or_default();
                let detail = if removed {
                    tr!(
                        lang,
                        "{reason} (bỏ trước khi phát)",
                        "{reason} (removed before airing)"
                    )
                } else {
                    reason
                };
                tell(station, b, What::BulletinWithdrawn, file.clone(), detail, t);
                (State::Withdrawn, file)
            }
            Next::Resume if bulletin::already_in(&doors, b, lang).is_some() => {
                (State::Handed, bulletin::already_in(&doors, b, lang))
            }
            Next::Fetch | Next::Resume => {
                let resume = taken.is_some();
                let bytes = central::bulletin::clip(t, client, &sync.station, b.id).await?;
                // Once every check passed: its receipt to the journal, and `Taking` in the
                // ledger, both before the file appears.
                let taken_in = bulletin::take_in(&doors, b, &bytes, probes, lang, |rel| {
                    if !resume {
                        tell(
                            station,
                            b,
                            What::BulletinReceived,
                            Some(rel.to_string()),
                            received(b, lang),
                            t,
                        );
                    }
                    ledger.taken.insert(
                        b.id,
                        Taken {
                            state: State::Taking,
                            file: Some(rel.to_string()),
                            at: Utc::now(),
                        },
                    );
                    if let Err(e) = ledger.write(&path) {
                        tracing::error!("{}: {e}", path.display());
                    }
                });
                match taken_in {
                    Ok(rel) => {
                        handed += 1;
                        tracing::warn!(
                            "{}",
                            tr!(
                                lang,
                                "nhận bản tin {} của tỉnh «{}» ({}): {}",
                                "province bulletin {} “{}” ({}) received: {}",
                                b.id,
                                b.title,
                                b.level.label(lang),
                                rel
                            )
                        );
                        (State::Handed, Some(rel))
                    }
                    Err(why) => {
                        tracing::error!(
                            "{}",
                            tr!(
                                lang,
                                "từ chối bản tin {} của tỉnh: {why}",
                                "province bulletin {} refused: {why}",
                                b.id
                            )
                        );
                        tell(station, b, What::BulletinRefused, None, why, t);
                        (State::Refused, None)
                    }
                }
            }
        };
        ledger.taken.insert(
            b.id,
            Taken {
                state,
                file,
                at: Utc::now(),
            },
        );
        if let Err(e) = ledger.write(&path) {
            tracing::error!("{}: {e}", path.display());
        }
    }
    Ok(handed)
}

/// Hands what was done to the daemon to journal; a mailbox that cannot be written is said
/// (the bulletin still airs: the journal then lacks its receipt, which the log shows).
fn tell(
    station: &Station<'_>,
    b: &Bulletin,
    what: What,
    file: Option<String>,
    detail: String,
    t: &central::Target,
) {
    let action = bulletin::action(b, what, file, detail, &t.display);
    if let Err(e) = crate::mailbox::hand(station.audio_dir, &action) {
        tracing::error!("{}: {e}", station.audio_dir.display());
    }
}

fn received(b: &Bulletin, lang: Lang) -> String {
    tr!(
        lang,
        "«{}», {}, hết hạn {}",
        "“{}”, {}, ends {}",
        b.title,
        b.level.label(lang),
        b.until.format("%Y-%m-%d %H:%M UTC")
    )
}

fn ended(b: &Bulletin, lang: Lang) -> String {
    tr!(
        lang,
        "«{}» đã hết hạn lúc {} trước khi đến đài: không phát",
        "“{}” ended at {} before it reached the station: never aired",
        b.title,
        b.until.format("%Y-%m-%d %H:%M UTC")
    )
}

/// Listens until `shutdown`: a look at once, then at every notification and every
/// [`RECHECK`]; a lost connection is made again after [`RETRY`].
pub async fn listen(
    sync: &SyncConfig,
    station: &Station<'_>,
    lang: Lang,
    heartbeat: &(dyn Fn() -> central::bulletin::Heartbeat + Sync),
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let probes = ProbeCache::default();
    let mut said: Option<String> = None;
    loop {
        let session = async {
            let (client, mut told) = central::connect_listening(&sync.target).await?;
            client
                .batch_execute(&format!("LISTEN {}", central::bulletin::CHANNEL))
                .await
                .map_err(|e| central::classify(&sync.target, &e))?;
            loop {
                pass(sync, &client, station, &probes, lang).await?;
                let beat = heartbeat();
                central::bulletin::heartbeat(&sync.target, &client, &sync.station, &beat).await?;
                tokio::select! {
                    heard = told.recv() => if heard.is_none() {
                        return Err(CentralError::Unreachable {
                            at: sync.target.display.clone(),
                            detail: "the connection ended".into(),
                        });
                    },
                    () = tokio::time::sleep(RECHECK) => {}
                }
            }
        };
        let result: Result<(), CentralError> = tokio::select! {
            r = session => r,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        if let Err(e) = result {
            let text = e.text(lang);
            if said.as_deref() != Some(text.as_str()) {
                tracing::warn!(
                    "{}",
                    tr!(
                        lang,
                        "nhận bản tin của tỉnh: {text}",
                        "province bulletins: {text}"
                    )
                );
                said = Some(text);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}
