//! The audio folder's upkeep: the catalog brought up to date, files it cannot air reported
//! and journaled once, spent queue clips retired, undeclared topics warned about.

use super::*;

impl Daemon<'_> {
    /// Brings the catalog up to date: reports new problems once, retires spent queue clips,
    /// and rewrites the library status when anything changed.
    pub(super) fn refresh_catalog(&mut self) -> Result<(), DaemonError> {
        if !self.publishing.publishes {
            return Ok(());
        }
        if self.clips.catalog.refresh() {
            self.clips.library_dirty = true;
        }
        // Measuring clips decodes them whole: once the last is done, its buffers go back.
        let ingesting = self.clips.catalog.ingesting();
        if self.clips.was_ingesting && !ingesting {
            release_memory();
        }
        self.clips.was_ingesting = ingesting;
        self.report_notices()?;
        if self.clips.library_dirty {
            self.retire_spent()?;
            self.publish_library()?;
        }
        Ok(())
    }

    /// Logs and journals, once, each file the catalog found it cannot air.
    pub(super) fn report_notices(&mut self) -> Result<(), DaemonError> {
        let notices = self.clips.catalog.take_notices();
        if !notices.is_empty() {
            let now = self.clock.now();
            let events: Vec<Event> = notices
                .iter()
                .map(|n| {
                    tracing::error!("{}", self.clips.catalog.describe(n));
                    match n {
                        crate::catalog::Notice::Undecodable { rel, reason }
                        | crate::catalog::Notice::Refused { rel, reason } => Event::ClipRejected {
                            file: rel.clone(),
                            sha256: None,
                            reason: reason.clone(),
                        },
                        crate::catalog::Notice::BadMetadata { file, errors } => {
                            Event::ClipRejected {
                                file: file.clone(),
                                sha256: None,
                                reason: errors.join("\n"),
                            }
                        }
                    }
                })
                .collect();
            self.record(&events, now);
        }
        Ok(())
    }

    /// Moves queue clips that aired as many times as their queue (or sidecar) says into the
    /// folder's `da-phat/`. Their journal records stay as they are.
    pub(super) fn retire_spent(&mut self) -> Result<(), DaemonError> {
        let lang = self.lang();
        let now = self.clock.now();
        let today = now.with_timezone(&self.config.timezone).date_naive();
        let mut queues: Vec<crate::schedule::QueueRef> = self
            .schedules
            .slots()
            .filter_map(|s| s.queue.clone())
            .collect();
        // Many slots share a queue: one look per folder and mode.
        queues.sort_by(|a, b| a.folder.cmp(&b.folder));
        queues.dedup_by(|a, b| a.folder == b.folder && a.mode == b.mode);
        let on_air: Vec<String> = self
            .publishing
            .status
            .on_air
            .as_ref()
            .map(|a| a.clips.clone())
            .unwrap_or_default();
        for q in queues {
            let none = QueueHistory::default();
            let Ok(mut rules) =
                QueueRules::for_folder(&self.clips.catalog, &q.folder, q.mode, (today, now), &none)
            else {
                continue;
            };
            let limited = rules.mode.limit().is_some()
                || self
                    .clips
                    .catalog
                    .queue(&q.folder)
                    .any(|c| c.meta.as_ref().is_ok_and(|m| m.times.is_some()));
            if !limited {
                continue;
            }
            let history = QueueHistory {
                last: HashMap::new(),
                aired: self.journal.aired_versions(&q.folder)?,
            };
            rules.history = &history;
            let spent: Vec<(String, i64)> = self
                .clips
                .catalog
                .queue(&q.folder)
                .filter(|c| c.info().is_some() && rules.spent(c) && !on_air.contains(&c.rel))
                .map(|c| (c.rel.clone(), rules.aired(c)))
                .collect();
            for (rel, times) in spent {
                match self.clips.catalog.retire(&rel) {
                    Ok(to) => tracing::info!(
                        "{}",
                        tr!(
                            lang,
                            "{rel} đã phát đủ {times} lần: chuyển vào {}",
                            "{rel} aired {times} time(s) as planned: moved to {}",
                            to.display()
                        )
                    ),
                    Err(e) => tracing::error!(
                        "{}",
                        tr!(
                            lang,
                            "{rel} đã phát đủ lần nhưng không chuyển được vào da-phat/: {e}",
                            "{rel} aired out but could not be moved to da-phat/: {e}"
                        )
                    ),
                }
            }
        }
        Ok(())
    }

    /// A clip whose sidecar or queue names a topic its plan does not declare still airs, but
    /// its minutes would count under no plan item: said once per clip and topic (`validate`
    /// refuses it outright).
    pub(super) fn warn_undeclared_topics(&mut self, plan: &str, prepared: &Prepared) {
        let Some(topics) = self
            .schedules
            .files
            .iter()
            .find(|f| f.plan.id == plan)
            .map(|f| f.plan.topics.clone())
        else {
            return;
        };
        for c in prepared.entries.iter().map(|e| &e.plan) {
            let Some(t) = &c.topic else { continue };
            if !topics.contains_key(t) && self.clips.topic_warned.insert((c.rel.clone(), t.clone()))
            {
                tracing::warn!(
                    "{}",
                    tr!(
                        self.lang(),
                        "{}: chủ đề «{t}» không có trong [topics] của kế hoạch «{plan}»: thời lượng của bài sẽ không được tính cho mục nào của kế hoạch",
                        "{}: topic “{t}” is not declared in plan “{plan}”'s [topics]: its minutes count under no plan item",
                        c.rel
                    )
                );
            }
        }
    }
}
