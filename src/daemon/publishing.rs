//! What the daemon tells others: `status.json` and `library.json` for `loaxa status` and the
//! console, and the service manager's status line and watchdog.

use super::*;

impl Daemon<'_> {
    /// The planner over the daemon's configuration (as last reloaded) and audio folder.
    pub(super) fn planner(&self) -> Planner<'_> {
        Planner::new(&self.config, &self.clips.catalog, &self.station.probes)
    }

    /// Writes the status file: at once when `force`, else at most every heartbeat.
    pub(super) fn publish_status(&mut self, force: bool) {
        if !self.publishing.publishes {
            return;
        }
        if !force
            && self
                .publishing
                .written
                .is_some_and(|t| self.since(t) < status::HEARTBEAT)
        {
            return;
        }
        let now = self.clock.now();
        self.publishing.status.output = self.audio.output_name().to_string();
        self.publishing.status.updated_at = now;
        let planner = self.planner();
        match Upcoming::ahead(&planner, &self.schedules, Some(&*self.journal), now) {
            Ok(ahead) => self.publishing.status.next = ahead,
            Err(e) => tracing::debug!("status: next occurrences: {e}"),
        }
        self.publishing.status.rejected = self
            .files
            .rejected_errors
            .iter()
            .map(|(file, errors)| status::Rejected {
                file: file.display().to_string(),
                errors: errors.clone(),
            })
            .collect();
        let path = status::path_for(&self.config.journal);
        if let Err(e) = status::write(&path, &self.publishing.status) {
            // Only worth saying once: the station airs regardless.
            if self.publishing.written.is_none() {
                tracing::warn!("{}: {e}", path.display());
            }
        }
        self.publishing.written = Some(self.mono());
    }

    /// Writes `library.json` for `loaxa status`.
    pub(super) fn publish_library(&mut self) -> Result<(), DaemonError> {
        self.clips.library_dirty = false;
        let cfg = &self.config;
        let library = status::library(
            &self.clips.catalog,
            Some(self.journal),
            &self.schedules,
            &cfg.emergency_dir,
            self.clock.now(),
            cfg.timezone,
            self.lang(),
        )?;
        let path = status::library_path_for(&cfg.journal);
        if let Err(e) = status::write_library(&path, &library) {
            tracing::debug!("{}: {e}", path.display());
        }
        Ok(())
    }

    /// One line for the service manager: what airs next.
    pub(super) fn next_status(&self) -> String {
        let lang = self.lang();
        match recurrence::next_after(
            self.schedules.slots(),
            self.config.timezone,
            self.clock.now(),
            chrono::Duration::days(400),
        ) {
            Some(o) => tr!(
                lang,
                "lần phát tiếp theo: {} «{}» lúc {}",
                "next: {} “{}” at {}",
                o.slot.id,
                o.slot.title,
                self.local(o.at)
            ),
            None => lang
                .pick("không có lần phát nào sắp tới", "nothing scheduled")
                .to_string(),
        }
    }

    pub(super) fn ping(&mut self) {
        if let Some(n) = &mut self.publishing.notifier {
            n.watchdog();
        }
    }
}
