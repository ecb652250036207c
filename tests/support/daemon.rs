//! The daemon in-process: a station's daemon run on a fake clock with an in-memory recorder
//! (days of schedule in milliseconds), or in real time with a paced null output, against the
//! real SQLite journal. The one harness every in-process daemon test uses.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use loaxa::audio::recorder::Recorder;
use loaxa::audio::AudioHandle;
use loaxa::clock::{Clock, FakeClock};
use loaxa::config::{self, Overrides};
use loaxa::daemon::{self, RunOptions};
use loaxa::journal::Journal;
use loaxa::station::Station;

use super::TempStation;

/// The station as `run` loads it, every clip checked.
pub fn station(st: &TempStation) -> Station {
    let path = st.path().join("config/loaxa.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let cfg = config::parse(
        &path,
        &text,
        &Overrides::default(),
        &BTreeMap::new(),
        loaxa::cli::SECTIONS,
    )
    .unwrap();
    Station::load(cfg, loaxa::station::Schedules::Strict { check_audio: true })
        .map_err(|e| format!("{e:?}"))
        .unwrap()
        .station
}

/// A file edit an operator makes at a given (fake) time: write `Some(text)` or delete `None`.
pub type Edit = (DateTime<Utc>, std::path::PathBuf, Option<String>);

/// Runs the daemon on `clock` until it reaches `until`, stepping the clock as `steps` say and
/// making `edits` on the way, recording what it airs.
pub fn run(
    st: &TempStation,
    recorder: Recorder,
    clock: &FakeClock,
    until: DateTime<Utc>,
    steps: Vec<(DateTime<Utc>, chrono::Duration)>,
    edits: Vec<Edit>,
    options: RunOptions,
) {
    let station = station(st);
    let mut journal = Journal::open(&st.journal()).unwrap();
    let c: Arc<dyn Clock> = Arc::new(clock.clone());
    let mut recorder = recorder;
    recorder.clock = Some(c.clone());
    let audio = AudioHandle::spawn(Box::new(recorder)).unwrap();
    let watcher = clock.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut steps = steps;
        let mut edits = edits;
        let shutdown = async move {
            loop {
                let now = watcher.now();
                if let Some(i) = steps.iter().position(|(at, _)| now >= *at) {
                    let (_, by) = steps.remove(i);
                    watcher.step(by);
                }
                if let Some(i) = edits.iter().position(|(at, _, _)| now >= *at) {
                    let (_, path, content) = edits.remove(i);
                    match content {
                        Some(text) => std::fs::write(&path, text).unwrap(),
                        None => std::fs::remove_file(&path).unwrap(),
                    }
                }
                if now >= until {
                    break;
                }
                tokio::task::yield_now().await;
            }
        };
        daemon::run(&station, &mut journal, audio, c, shutdown, options)
            .await
            .unwrap();
    });
}

/// Runs the daemon in real time with a paced null output until `stop_at`.
pub fn run_real(st: &TempStation, stop_at: std::time::Instant) {
    use loaxa::audio::paced::PacedOutput;
    use loaxa::clock::SystemClock;
    let station = station(st);
    let mut journal = Journal::open(&st.journal()).unwrap();
    let audio = AudioHandle::spawn(Box::new(PacedOutput::null())).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stop = tokio::time::sleep_until(stop_at.into());
        daemon::run(
            &station,
            &mut journal,
            audio,
            clock,
            stop,
            RunOptions::default(),
        )
        .await
        .unwrap();
    });
}
