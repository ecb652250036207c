//! Start-up: events a previous run could not write, a broadcast cut by a crash, and every
//! occurrence that fell due while loaxa was not running, journaled as missed.

use super::*;

/// How many occurrences missed while loaxa was down get a log line each at start-up.
const MISSED_SAID: usize = 10;

impl Daemon<'_> {
    pub(super) fn startup(&mut self, now: DateTime<Utc>) -> Result<(), DaemonError> {
        let lang = self.lang();
        // Events a previous run could not journal come first: they happened before anything
        // this run does.
        let recovered = self.held.backlog.recover(self.journal)?;
        if recovered > 0 {
            match self.held.backlog.flush(self.journal) {
                Ok(n) => tracing::warn!(
                    "{}",
                    tr!(
                        lang,
                        "đã ghi vào nhật ký {n} sự kiện lần chạy trước chưa ghi được",
                        "journaled {n} event(s) the previous run could not write"
                    )
                ),
                Err(e) => {
                    self.held.backlog.error = Some(e.to_string());
                    tracing::error!(
                        "{}",
                        tr!(
                            lang,
                            "nhật ký vẫn chưa ghi được ({e}): {recovered} sự kiện của lần chạy trước vẫn đang chờ",
                            "the journal still refuses writes ({e}): {recovered} event(s) from the previous run still wait"
                        )
                    );
                }
            }
        }
        // When was loaxa last known to be alive? Everything due after that and before now
        // (less the grace) fell due while it was not running.
        let last_seen = match (
            self.journal.last_activity()?,
            self.journal.last_scheduled()?,
        ) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };

        // A broadcast started but never ended: loaxa died while airing.
        for r in self.journal.unfinished()? {
            tracing::warn!(
                "{}",
                tr!(
                    lang,
                    "phiên {} lúc {} bị ngắt vì loaxa tắt đột ngột",
                    "the broadcast {} at {} was cut: loaxa ended abruptly",
                    r.info.title,
                    self.local(r.info.scheduled_at)
                )
            );
            self.record(
                std::slice::from_ref(&Event::BroadcastEnded {
                    occurrence: r.info.clone(),
                    outcome: Outcome::Interrupted,
                    reason: Some(Reason::Crashed),
                    started_at: None,
                    ended_at: now,
                    stream: None,
                }),
                now,
            );
        }

        // What was in force before this start decides what was owed while loaxa was down:
        // an edit made while it was stopped does not rewrite that history.
        let previous = self.journal.schedules_in_force()?;
        // The last run answered for occurrences from its own start (less the grace) on, and
        // a kill can leave some of them unjournaled — one it was about to air late, or one
        // waiting behind a broadcast — though later events were written. So this start
        // looks again from there; what the journal already has is skipped. A version loaded
        // mid-run owes nothing from before it came in. Older journals do not say where the
        // last run began; there the last sign of life has to do.
        let owed_from = match self.journal.last_accounts_from()? {
            Some(from) => {
                let last_start = self.journal.last_started()?;
                let mut since = BTreeMap::new();
                for (file, _, _) in &previous {
                    let bound = match self.journal.schedule_loaded_at(file)? {
                        Some(loaded) if last_start.is_some_and(|s| loaded > s) => loaded.max(from),
                        _ => from,
                    };
                    since.insert(file.clone(), bound);
                }
                Some((from, since))
            }
            None => last_seen.map(|seen| (seen, BTreeMap::new())),
        };
        let grace = chrono::Duration::from_std(self.config.grace).unwrap_or_default();
        let horizon = now - grace;

        self.record(
            std::slice::from_ref(&Event::StationStarted {
                version: env!("CARGO_PKG_VERSION").into(),
                output: self.audio.output_name().to_string(),
                accounts_from: Some(horizon),
            }),
            now,
        );
        let mut present = std::collections::BTreeSet::new();
        let mut versions = Vec::new();
        for f in &self.schedules.files {
            let name = f.file.display().to_string();
            present.insert(name.clone());
            if self.journal.last_schedule_version(&name)?.as_deref() != Some(f.sha256.as_str()) {
                versions.push(Event::ScheduleLoaded {
                    file: name,
                    sha256: f.sha256.clone(),
                    content: f.text.clone(),
                });
            }
        }
        for (file, _, _) in &previous {
            if !present.contains(file) {
                versions.push(Event::ScheduleUnloaded { file: file.clone() });
            }
        }
        for e in versions {
            self.record(&[e], now);
        }

        if let Some((from, since)) = owed_from {
            let owed = self.owed_while_down(&previous, &since, from, horizon);
            // After a long run most of these are journaled: one range query, not one each.
            let known = self.journal.occurrences_scheduled(from, horizon)?;
            let mut missed = Vec::new();
            let mut span: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
            for p in owed {
                if known.contains(&self.info(&p).key) {
                    continue;
                }
                // The first few each get a line; a week down is summed up below, not
                // thousands of lines.
                let say = missed.len() < MISSED_SAID;
                if let Some(e) = self.missed_said(&p, Reason::NotRunning, say)? {
                    missed.push(e);
                    span = Some(span.map_or((p.at, p.at), |(a, _)| (a, p.at)));
                }
            }
            // One write for all of them: a week down at a busy station is thousands.
            let count = missed.len();
            self.record(&missed, now);
            if let Some((first, last)) = span {
                tracing::warn!(
                    "{}",
                    tr!(
                        lang,
                        "{count} lần phát đã bị lỡ khi loaxa không chạy, từ {} đến {} (đã ghi vào nhật ký; xem `loaxa log`)",
                        "{count} occurrence(s) fell due while loaxa was not running, from {} to {} (journaled as missed; see `loaxa log`)",
                        self.local(first),
                        self.local(last)
                    )
                );
            }
        }
        self.timeline.cursor = horizon;
        tracing::info!(
            "{}",
            tr!(
                lang,
                "đài «{}» đã sẵn sàng; đầu ra: {}; múi giờ {}",
                "station “{}” ready; output: {}; time zone {}",
                self.config.station_name,
                self.config.output.describe(lang),
                self.config.timezone
            )
        );
        match recurrence::next_after(
            self.schedules.slots(),
            self.config.timezone,
            now,
            chrono::Duration::days(400),
        ) {
            Some(o) => tracing::info!(
                "{}",
                tr!(
                    lang,
                    "lần phát tiếp theo: {} «{}» lúc {} ({})",
                    "next: {} “{}” at {} ({})",
                    o.slot.id,
                    o.slot.title,
                    self.local(o.at),
                    self.config.timezone
                )
            ),
            None => tracing::warn!(
                "{}",
                lang.pick(
                    "không có lần phát nào trong 400 ngày tới",
                    "nothing is scheduled in the next 400 days"
                )
            ),
        }
        Ok(())
    }

    /// Occurrences in `(from, until]` of the schedules that were in force (as the journal
    /// stored them), or of the current ones for a journal that predates version storage.
    /// A stored version's occurrences start after `since[file]` where that is given.
    pub(super) fn owed_while_down(
        &self,
        previous: &[(String, String, String)],
        since: &BTreeMap<String, DateTime<Utc>>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<Pending> {
        let tz = self.config.timezone;
        let now_pending = |o: recurrence::Occurrence<'_>, sha: Option<String>| Pending {
            slot: o.slot.clone(),
            at: o.at,
            manual: false,
            schedule_sha256: sha,
        };
        if previous.is_empty() {
            return recurrence::between(self.schedules.slots(), tz, from, until)
                .into_iter()
                .map(|o| now_pending(o, None))
                .collect();
        }
        let ctx = crate::schedule::Context::text_only(self.lang());
        let mut out = Vec::new();
        for (file, sha, content) in previous {
            match crate::schedule::parse(std::path::Path::new(file), content, &ctx, 0) {
                (Some(schedule), _) => {
                    let from = since.get(file).copied().unwrap_or(from);
                    for o in recurrence::between(schedule.slots.iter(), tz, from, until) {
                        out.push(now_pending(o, Some(sha.clone())));
                    }
                }
                (None, _) => tracing::warn!("stored schedule version {sha} of {file} no longer parses; its occurrences while loaxa was down cannot be accounted"),
            }
        }
        out.sort_by_key(|p| p.at);
        out
    }

    /// Journals an occurrence as missed, unless the journal already accounts for it.
    pub(super) fn journal_missed(
        &mut self,
        p: &Pending,
        reason: Reason,
        now: DateTime<Utc>,
    ) -> Result<bool, DaemonError> {
        let Some(event) = self.missed(p, reason)? else {
            return Ok(false);
        };
        self.record(std::slice::from_ref(&event), now);
        Ok(true)
    }

    /// The event that journals an occurrence as missed, said in the log; `None` if the
    /// journal already accounts for it.
    pub(super) fn missed(&self, p: &Pending, reason: Reason) -> Result<Option<Event>, DaemonError> {
        self.missed_said(p, reason, true)
    }

    /// [`Self::missed`], said in the log only if `say` (a long downtime is summed up instead).
    fn missed_said(
        &self,
        p: &Pending,
        reason: Reason,
        say: bool,
    ) -> Result<Option<Event>, DaemonError> {
        let info = self.info(p);
        if self.knows(&info.key)? {
            return Ok(None);
        }
        if !say {
            return Ok(Some(Event::OccurrenceMissed {
                occurrence: info,
                reason,
            }));
        }
        tracing::warn!(
            "{}",
            tr!(
                self.lang(),
                "bị lỡ: {} lúc {} — {}",
                "missed: {} at {} — {}",
                p.slot.title,
                self.local(p.at),
                reason.text(self.lang())
            )
        );
        Ok(Some(Event::OccurrenceMissed {
            occurrence: info,
            reason,
        }))
    }
}
