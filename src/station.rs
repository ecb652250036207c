//! A station as loaxa runs it: the validated configuration plus every schedule in force,
//! loaded together so each command sees the same, fully checked picture.

use std::path::Path;
use std::sync::Arc;

use crate::config::{self, Config, ConfigError, Overrides};
use crate::diagnostic::Diagnostic;
use crate::lang::Lang;
use crate::library::ProbeCache;
use crate::schedule::{self, Context, Schedules};

pub struct Station {
    pub config: Config,
    pub schedules: Schedules,
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

impl Station {
    /// Loads the configuration and the schedules. `check_audio` decodes every referenced
    /// clip (what `validate` and `run` want); listing commands skip it to stay fast.
    pub fn load(
        overrides: &Overrides,
        cwd: &Path,
        check_audio: bool,
    ) -> Result<(Station, Vec<Diagnostic>), StationError> {
        let config = config::load(overrides, &config::environment(), cwd)?;
        Self::with_config(config, check_audio)
    }

    pub fn with_config(
        config: Config,
        check_audio: bool,
    ) -> Result<(Station, Vec<Diagnostic>), StationError> {
        let probes = Arc::new(ProbeCache::default());
        // Other commands use the clip cache of an existing journal, but never create one.
        if config.journal.is_file() {
            probes.attach(&config.journal);
        }
        let ctx = Context {
            lang: config.language,
            audio_dir: Some(&config.audio_dir),
            probes: check_audio.then_some(&*probes),
            loudness: Some((config.loudness.target, config.loudness.margin)),
            guards: Some(config.guards),
        };
        let (schedules, diags) = schedule::load_dir(&config.schedules_dir, &ctx);
        if diags.iter().any(Diagnostic::is_error) {
            return Err(StationError::Schedules(diags));
        }
        Ok((
            Station {
                config,
                schedules,
                probes,
            },
            diags,
        ))
    }

    /// Like [`Station::load`], but schedule files with errors are left out instead of failing
    /// the whole load (for commands that report on a running station, such as `status`).
    pub fn load_lenient(
        overrides: &Overrides,
        cwd: &Path,
    ) -> Result<(Station, Vec<Diagnostic>), StationError> {
        let config = config::load(overrides, &config::environment(), cwd)?;
        let probes = Arc::new(ProbeCache::default());
        let ctx = Context {
            lang: config.language,
            audio_dir: Some(&config.audio_dir),
            probes: None,
            loudness: None,
            guards: None,
        };
        let (schedules, diags) = schedule::load_dir(&config.schedules_dir, &ctx);
        Ok((
            Station {
                config,
                schedules,
                probes,
            },
            diags,
        ))
    }

    /// For `run`: a schedule file with errors does not keep the station off the air. Its last
    /// version stored in the journal (the one that was airing before the bad edit) stays in
    /// force; a file never stored before is left out. Either way its errors are returned.
    pub fn load_for_run(
        overrides: &Overrides,
        cwd: &Path,
    ) -> Result<(Station, Vec<Diagnostic>, Vec<String>), StationError> {
        let config = config::load(overrides, &config::environment(), cwd)?;
        let probes = Arc::new(ProbeCache::default());
        // The daemon creates the journal anyway; opening it first lets the clip cache spare
        // a restart from decoding the library again.
        // (Not on a read-only journal: a read-only connection kept open would keep the
        // journal from being reopened for writing later.)
        if crate::journal::Journal::open(&config.journal).is_ok_and(|j| !j.is_read_only()) {
            probes.attach(&config.journal);
        }
        let ctx = Context {
            lang: config.language,
            audio_dir: Some(&config.audio_dir),
            probes: Some(&probes),
            loudness: Some((config.loudness.target, config.loudness.margin)),
            guards: Some(config.guards),
        };
        let (mut schedules, diags) = schedule::load_dir(&config.schedules_dir, &ctx);
        let mut kept = Vec::new();
        let broken: std::collections::BTreeSet<std::path::PathBuf> = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.file.clone())
            .collect();
        if !broken.is_empty() && config.journal.is_file() {
            if let Ok(journal) = crate::journal::Journal::open(&config.journal) {
                let stored = journal.schedules_in_force().unwrap_or_default();
                for file in &broken {
                    let name = file.display().to_string();
                    let Some((_, _, content)) = stored.iter().find(|(f, _, _)| *f == name) else {
                        continue;
                    };
                    if let (Some(s), _) = schedule::parse(file, content, &ctx, 0) {
                        if !schedules.files.iter().any(|f| f.plan.id == s.plan.id) {
                            kept.push(name);
                            schedules.files.push(s);
                        }
                    }
                }
                schedules.files.sort_by(|a, b| a.file.cmp(&b.file));
                let mut order = 0;
                for f in &mut schedules.files {
                    for slot in &mut f.slots {
                        slot.order = order;
                        order += 1;
                    }
                }
            }
        }
        Ok((
            Station {
                config,
                schedules,
                probes,
            },
            diags,
            kept,
        ))
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
