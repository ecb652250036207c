//! A station as loaxa runs it: the validated configuration plus every schedule in force,
//! loaded together so each command sees the same, fully checked picture. There is one way to
//! load it; how a schedule file with errors is treated is the caller's choice ([`Schedules`]
//! mode), because a command that checks (`validate`) and one that keeps a station on the air
//! (`run`) must treat it differently.

use std::sync::Arc;

use crate::config::{Config, ConfigError};
use crate::diagnostic::Diagnostic;
use crate::lang::Lang;
use crate::library::ProbeCache;
use crate::schedule::{self, Context};

pub struct Station {
    pub config: Config,
    pub schedules: schedule::Schedules,
    pub probes: Arc<ProbeCache>,
}

#[derive(Debug, thiserror::Error)]
pub enum StationError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Schedules with errors; warnings ride along.
    #[error("invalid schedules")]
    Schedules(Vec<Diagnostic>),
}

/// What to do with a schedule file that has errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedules {
    /// Fail the load (`validate`, `next`, `play`): the operator must fix it first. With
    /// `check_audio`, every referenced clip is decoded too.
    Strict { check_audio: bool },
    /// Leave it out and carry on (`status`, `log`, `report`, `doctor`): reading what happened
    /// must not depend on tomorrow's schedule.
    Lenient,
    /// Keep its last good version from the journal in force, or leave it out if there is
    /// none (`run`): a bad edit must not keep a rebooted station silent.
    KeepLastGood,
}

/// A loaded station, with what was found on the way.
pub struct Loaded {
    pub station: Station,
    /// Warnings, and in the lenient modes the errors of the files left out or kept.
    pub diagnostics: Vec<Diagnostic>,
    /// Files whose last good version (from the journal) stands in for the broken one.
    pub kept: Vec<String>,
}

impl Station {
    /// The planner for this station, over `catalog` (its audio folder as seen now).
    pub fn planner<'a>(
        &'a self,
        catalog: &'a crate::catalog::Catalog,
    ) -> crate::planner::Planner<'a> {
        crate::planner::Planner::new(&self.config, catalog, &self.probes)
    }

    /// Loads the schedules of a configuration, treating files with errors as `mode` says.
    pub fn load(config: Config, mode: Schedules) -> Result<Loaded, StationError> {
        let probes = Arc::new(ProbeCache::default());
        // The clip cache in the journal spares decoding the library again. Only `run`
        // creates the journal (the daemon does anyway); other commands use an existing one.
        // (Not a read-only journal: a read-only connection kept open would keep the journal
        // from being reopened for writing later.)
        let attach = match mode {
            Schedules::KeepLastGood => {
                crate::journal::Journal::open(&config.journal).is_ok_and(|j| !j.is_read_only())
            }
            _ => config.journal.is_file(),
        };
        if attach {
            probes.attach(&config.journal);
        }
        let check_audio = match mode {
            Schedules::Strict { check_audio } => check_audio,
            Schedules::Lenient => false,
            Schedules::KeepLastGood => true,
        };
        let ctx = Context::for_station(&config, check_audio.then_some(&*probes));
        let (mut schedules, diagnostics) = schedule::load_dir(&config.schedules_dir, &ctx);
        let broken: std::collections::BTreeSet<std::path::PathBuf> = diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.file.clone())
            .collect();
        let mut kept = Vec::new();
        match mode {
            Schedules::Strict { .. } if !broken.is_empty() => {
                return Err(StationError::Schedules(diagnostics));
            }
            Schedules::KeepLastGood if !broken.is_empty() && config.journal.is_file() => {
                kept = keep_last_good(&config, &ctx, &broken, &mut schedules);
            }
            _ => {}
        }
        Ok(Loaded {
            station: Station {
                config,
                schedules,
                probes,
            },
            diagnostics,
            kept,
        })
    }

    pub fn lang(&self) -> Lang {
        self.config.language
    }

    /// The audio folder as it stands now, every clip stated (measured here if the journal's
    /// cache does not know it): for commands that are not the daemon.
    pub fn catalog(&self) -> crate::catalog::Catalog {
        let mut catalog = crate::catalog::Catalog::new(
            &self.config.audio_dir,
            self.probes.clone(),
            self.lang(),
            false,
        );
        catalog.settle_now();
        catalog
    }
}

/// Puts the last version the journal stored of each broken file in force (the one that was
/// airing before the bad edit); returns the files so kept.
fn keep_last_good(
    config: &Config,
    ctx: &Context<'_>,
    broken: &std::collections::BTreeSet<std::path::PathBuf>,
    schedules: &mut schedule::Schedules,
) -> Vec<String> {
    let mut kept = Vec::new();
    let Ok(journal) = crate::journal::Journal::open(&config.journal) else {
        return kept;
    };
    let stored = journal.schedules_in_force().unwrap_or_default();
    for file in broken {
        let name = file.display().to_string();
        let Some((_, _, content)) = stored.iter().find(|(f, _, _)| *f == name) else {
            continue;
        };
        if let (Some(s), _) = schedule::parse(file, content, ctx, 0) {
            if !schedules.files.iter().any(|f| f.plan.id == s.plan.id) {
                kept.push(name);
                schedules.files.push(s);
            }
        }
    }
    schedules.put_in_order();
    kept
}
