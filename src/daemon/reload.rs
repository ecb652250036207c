//! Live edits: the configuration and schedule files put in force within moments of a save
//! (inotify, SIGHUP, and a look every 30 s of the daemon's clock); a file with errors is
//! rejected whole and the previous version stays in force.

use super::*;

impl Daemon<'_> {
    /// SIGHUP: read the configuration, the schedules and the audio folder again now.
    pub(super) fn hung_up(&mut self) {
        tracing::info!(
            "{}",
            self.lang().pick(
                "SIGHUP: đọc lại cấu hình, lịch phát và thư mục âm thanh",
                "SIGHUP: reading the configuration, schedules and audio folder again"
            )
        );
        self.files.config_stamp = None;
        self.files.config_rejected = None;
        self.files.schedules_stamp = None;
        self.files.checked = None;
        self.clips.catalog.rescan();
    }

    /// Looks at the configuration and schedules when a watched file changed, and every
    /// [`FILES_RECHECK`] regardless (a file system whose events are lost, as over a network,
    /// still gets its edits in force, just later).
    pub(super) fn refresh_files(&mut self) -> Result<(), DaemonError> {
        let flagged = self
            .files
            .wakers
            .as_ref()
            .is_none_or(|w| !w.watching_files || w.take_files());
        let mono = self.mono();
        let due = self
            .files
            .checked
            .is_none_or(|t| mono.saturating_sub(t) >= FILES_RECHECK);
        if !(flagged || due) {
            return Ok(());
        }
        self.files.checked = Some(mono);
        self.refresh_config();
        self.refresh_schedules()
    }

    /// Applies a saved edit of the configuration file: a valid one takes effect at once (what
    /// airs is not cut), one with errors is rejected whole and the previous stays in force.
    /// The output, journal and folders are fixed for the process's life; a change to them is
    /// said to need a restart.
    pub(super) fn refresh_config(&mut self) {
        let Some(file) = self.config.file.clone() else {
            return;
        };
        let stamp = file_stamp(&file);
        if stamp == self.files.config_stamp {
            return;
        }
        // An editor saving in place truncates the file, then writes it: the watcher wakes the
        // daemon in between, and half a file (an empty one is every default) must not be put
        // in force. It is read once it has been still for a moment.
        // Regression: a save with an error, read mid-write, left the daemon on the empty
        // file's defaults (the quiet hours gone) and rejected the whole one that followed.
        let age = stamp
            .as_ref()
            .and_then(|(_, _, t)| *t)
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        if let Some(age) = age.filter(|a| *a < CONFIG_SETTLE) {
            self.files.config_settling = Some(std::time::Instant::now() + (CONFIG_SETTLE - age));
            self.files.checked = None;
            return;
        }
        self.files.config_settling = None;
        let Some(reload) = &self.files.reload else {
            return;
        };
        let result = reload();
        self.files.config_stamp = stamp.clone();
        let lang = self.lang();
        match result {
            Err(e) => {
                if self.files.config_rejected != stamp {
                    self.files.config_rejected = stamp;
                    let detail = match &e {
                        crate::config::ConfigError::Invalid(diags) => diags
                            .iter()
                            .map(|d| d.render(lang))
                            .collect::<Vec<_>>()
                            .join("\n"),
                        other => other.to_string(),
                    };
                    tracing::error!(
                        "{}\n{detail}",
                        tr!(
                            lang,
                            "cấu hình {} có lỗi: không dùng bản này, cấu hình trước vẫn giữ nguyên",
                            "configuration {} rejected: the previous one stays in force",
                            file.display()
                        )
                    );
                    self.files
                        .rejected_errors
                        .insert(file.clone(), vec![detail]);
                    self.publish_status(true);
                }
            }
            Ok(mut new) => {
                self.files.config_rejected = None;
                self.files.rejected_errors.remove(&file);
                let fixed = [
                    ("output", new.output != self.config.output),
                    ("journal", new.journal != self.config.journal),
                    ("audio", new.audio_dir != self.config.audio_dir),
                    ("schedules", new.schedules_dir != self.config.schedules_dir),
                    (
                        "buffer_frames",
                        new.buffer_frames != self.config.buffer_frames,
                    ),
                    // The streamer is started with the station.
                    (
                        "[stream]",
                        new.raw_section("stream") != self.config.raw_section("stream"),
                    ),
                ];
                let needs_restart: Vec<&str> =
                    fixed.iter().filter(|(_, c)| *c).map(|(k, _)| *k).collect();
                if !needs_restart.is_empty() {
                    tracing::warn!(
                        "{}",
                        tr!(
                            new.language,
                            "thay đổi {} chỉ có hiệu lực sau khi khởi động lại loaxa",
                            "changing {} takes effect only after loaxa restarts",
                            needs_restart.join(", ")
                        )
                    );
                    new.output = self.config.output.clone();
                    new.journal = self.config.journal.clone();
                    new.audio_dir = self.config.audio_dir.clone();
                    new.schedules_dir = self.config.schedules_dir.clone();
                    new.buffer_frames = self.config.buffer_frames;
                    // The text is where `[stream]` is read from: it keeps its starting value.
                    new.text = self.config.text.clone();
                }
                self.config = new;
                self.files.schedules_epoch += 1;
                tracing::info!(
                    "{}",
                    tr!(
                        self.lang(),
                        "đã áp dụng cấu hình mới từ {}",
                        "configuration from {} now in force",
                        file.display()
                    )
                );
                self.publish_status(true);
            }
        }
    }

    /// Puts schedule edits in force within a tick of the save. A file that fails validation is
    /// rejected whole and its previous version keeps airing; what airs now is never cut.
    pub(super) fn refresh_schedules(&mut self) -> Result<(), DaemonError> {
        // Cheap first: unless a file appeared, went, or changed size or time (or changed so
        // recently that a second write could hide in the same timestamp), nothing is read.
        // (File times are the file system's: they are compared with its clock, not the
        // daemon's.)
        let stamp = folder_stamp(&self.config.schedules_dir);
        let settled = stamp.iter().all(|(_, _, t)| {
            t.and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > Duration::from_secs(2))
        });
        if settled && self.files.schedules_stamp.as_ref() == Some(&stamp) {
            return Ok(());
        }
        self.files.schedules_stamp = Some(stamp);
        let lang = self.lang();
        let ctx = crate::schedule::Context::for_station(&self.config, Some(&self.station.probes));
        let change = self.schedules.refresh(&self.config.schedules_dir, &ctx);
        let now = self.clock.now();
        if !change.loaded.is_empty() || !change.removed.is_empty() {
            self.publishing.written = None;
            self.files.schedules_epoch += 1;
        }
        for path in &change.loaded {
            self.files.rejected.remove(path);
            self.files.rejected_errors.remove(path);
            if let Some(f) = self.schedules.files.iter().find(|f| &f.file == path) {
                tracing::info!(
                    "{}",
                    tr!(
                        lang,
                        "đã áp dụng lịch phát mới: {}",
                        "schedule now in force: {}",
                        path.display()
                    )
                );
                self.files
                    .schedule_hashes
                    .insert(f.plan.id.clone(), f.sha256.clone());
                let event = Event::ScheduleLoaded {
                    file: path.display().to_string(),
                    sha256: f.sha256.clone(),
                    content: f.text.clone(),
                };
                self.record(std::slice::from_ref(&event), now);
            }
        }
        for path in &change.removed {
            self.files.rejected.remove(path);
            self.files.rejected_errors.remove(path);
            tracing::warn!(
                "{}",
                tr!(
                    lang,
                    "lịch phát đã bị xóa, không còn hiệu lực: {}",
                    "schedule removed, no longer in force: {}",
                    path.display()
                )
            );
            self.record(
                std::slice::from_ref(&Event::ScheduleUnloaded {
                    file: path.display().to_string(),
                }),
                now,
            );
        }
        for (path, sha, diags) in change.rejected {
            if self.files.rejected.get(&path) == Some(&sha) {
                continue;
            }
            let kept = self.schedules.files.iter().any(|f| f.file == path);
            tracing::error!(
                "{}",
                if kept {
                    tr!(
                        lang,
                        "lịch phát {} có lỗi, bản cũ vẫn được dùng:",
                        "schedule {} rejected, its previous version stays in force:",
                        path.display()
                    )
                } else {
                    tr!(
                        lang,
                        "lịch phát {} có lỗi, chưa được dùng:",
                        "schedule {} rejected, not in force:",
                        path.display()
                    )
                }
            );
            for d in diags.iter().filter(|d| d.is_error()) {
                tracing::error!("{}", d.render(lang));
            }
            self.files.rejected_errors.insert(
                path.clone(),
                diags
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| d.render(lang))
                    .collect(),
            );
            self.files.rejected.insert(path, sha);
            self.publishing.written = None;
        }
        Ok(())
    }
}
