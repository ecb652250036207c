//! Writing the journal: events go in, or, when the journal refuses them (a full disk, a
//! read-only file system), are held in order and said loudly until it takes them again.

use super::*;

impl Daemon<'_> {
    /// Journals events, or, if the journal refuses them (a full disk, a read-only file), holds
    /// them and says so loudly: the station keeps airing either way.
    pub(super) fn record(&mut self, events: &[Event], at: DateTime<Utc>) {
        if events.is_empty() {
            return;
        }
        if !self.held.backlog.is_empty() {
            self.retry_backlog(true);
        }
        // Behind held events, new ones wait their turn: the journal's order is the order of
        // what happened.
        let result = if self.held.backlog.is_empty() {
            self.journal
                .append_all(events, at)
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else {
            Err(self.held.backlog.error.clone().unwrap_or_default())
        };
        if let Err(reason) = result {
            let first = self.held.backlog.is_empty();
            self.held
                .backlog
                .hold(events, at, self.journal.head().0, reason.clone());
            if first
                || self
                    .held
                    .announced
                    .is_none_or(|t| self.since(t) >= BACKLOG_REMIND)
            {
                self.announce_backlog(&reason);
            }
            self.publishing.status.journal_pending = self.held.backlog.len();
            self.publishing.status.journal_error = Some(reason);
            self.publish_status(true);
        }
    }

    pub(super) fn announce_backlog(&mut self, reason: &str) {
        self.held.announced = Some(self.mono());
        tracing::error!(
            "{}",
            tr!(
                self.lang(),
                "KHÔNG GHI ĐƯỢC NHẬT KÝ ({reason}). loaxa vẫn phát bình thường; {} sự kiện đang được giữ trong bộ nhớ và trong {}, sẽ ghi vào nhật ký ngay khi ghi được. Hãy giải phóng ổ đĩa hoặc sửa quyền ghi.",
                "CANNOT WRITE THE JOURNAL ({reason}). loaxa keeps airing; {} event(s) are held in memory and in {}, to be journaled as soon as it takes writes. Free disk space or fix its permissions.",
                self.held.backlog.len(),
                self.held.backlog
                    .file().map_or_else(|| "(no fallback file could be written)".into(), |p| p.display().to_string())
            )
        );
        if let Some(n) = &self.publishing.notifier {
            n.status(&format!(
                "JOURNAL NOT WRITABLE: {} event(s) held",
                self.held.backlog.len()
            ));
        }
    }

    /// Offers held events to the journal again (every [`BACKLOG_RETRY`], or now if `force`).
    pub(super) fn retry_backlog(&mut self, force: bool) {
        if self.held.backlog.is_empty()
            || (!force
                && self
                    .held
                    .tried
                    .is_some_and(|t| self.since(t) < BACKLOG_RETRY))
        {
            return;
        }
        self.held.tried = Some(self.mono());
        let mut flushed = self.held.backlog.flush(self.journal);
        if flushed.is_err() {
            // A connection SQLite opened read-only (a read-only file system at start, which it
            // does not always report as such) never becomes writable: open the journal afresh.
            match self.journal.reopen() {
                Ok(true) => flushed = self.held.backlog.flush(self.journal),
                Ok(false) => {}
                Err(e) => flushed = Err(e),
            }
        }
        match flushed {
            Ok(n) => {
                tracing::warn!(
                    "{}",
                    tr!(
                        self.lang(),
                        "nhật ký ghi được trở lại: đã ghi {n} sự kiện đang chờ",
                        "the journal takes writes again: {n} held event(s) written"
                    )
                );
                self.held.announced = None;
                self.publishing.status.journal_pending = 0;
                self.publishing.status.journal_error = None;
                self.publish_status(true);
            }
            Err(e) => {
                self.held.backlog.error = Some(e.to_string());
                if self
                    .held
                    .announced
                    .is_none_or(|t| self.since(t) >= BACKLOG_REMIND)
                {
                    self.announce_backlog(&e.to_string());
                }
            }
        }
    }

    /// Whether the journal, or the events held for it, already account for an occurrence.
    pub(super) fn knows(&self, key: &str) -> Result<bool, DaemonError> {
        Ok(self.held.backlog.knows(key) || self.journal.knows(key)?)
    }
}

impl Daemon<'_> {
    /// Journals what the console handed over (see [`crate::mailbox`]), in the order it was
    /// done, and removes each file once its event is journaled or held. A file that does not
    /// parse is set aside under a `.bad` name and said, never silently dropped.
    pub(super) fn journal_console_actions(&mut self) {
        // Withdrawals matter to the broadcast on air at this look, not to a later one.
        self.clips.withdrawn.clear();
        let pending = crate::mailbox::pending(&self.config.audio_dir);
        if pending.is_empty() {
            return;
        }
        let lang = self.lang();
        for (path, action) in pending {
            match action {
                Ok(action) => {
                    let at = self.clock.now();
                    if let (crate::mailbox::What::BulletinWithdrawn, Some(sha)) =
                        (action.what, &action.sha256)
                    {
                        self.clips.withdrawn.push((
                            sha.clone(),
                            Reason::Withdrawn {
                                bulletin: action.bulletin,
                                reason: action.detail.clone().unwrap_or_default(),
                            },
                        ));
                    }
                    if action.what == crate::mailbox::What::BulletinOrder {
                        if let Some(order) = action
                            .detail
                            .as_deref()
                            .and_then(crate::journal::ClashOrder::from_code)
                        {
                            self.clips.clash_order = order;
                        }
                    }
                    match action.what {
                        // A request to go live is for now: one that waited (handed over while
                        // loaxa was down) never puts the microphone on air later.
                        crate::mailbox::What::LiveStart
                            if (at - action.at).num_seconds() > LIVE_REQUEST_MAX_AGE =>
                        {
                            tracing::warn!(
                                "{}",
                                tr!(
                                    lang,
                                    "bỏ qua yêu cầu phát trực tiếp của {} lúc {}: đã quá cũ",
                                    "a request to go live from {} at {} is too old: not acted on",
                                    action.user,
                                    self.local(action.at)
                                )
                            );
                        }
                        crate::mailbox::What::LiveStart => {
                            let priority = action
                                .detail
                                .as_deref()
                                .and_then(crate::schedule::Priority::parse)
                                .unwrap_or_default();
                            self.clips.live_start = Some(super::LiveStart {
                                priority,
                                by: action.user.clone(),
                                feed: action.feed.clone(),
                            });
                            self.clips.live_stop = None;
                        }
                        crate::mailbox::What::LiveStop => {
                            // One still waiting its turn never airs; one on air ends at the
                            // next look (`watch_airing`). A stop from a browser's page names
                            // its voice and ends only that one; one without (the command
                            // line, the station microphone's button) ends any.
                            let stop =
                                super::LiveStop::new(action.user.clone(), action.feed.as_deref());
                            if self.clips.live_start.as_ref().is_some_and(|l| {
                                stop.ends(super::handover::feed_url(l.feed.as_deref()))
                            }) {
                                self.clips.live_start = None;
                            }
                            self.timeline.queue.retain(|p| {
                                !(is_live(&p.slot.plan, &p.slot.id)
                                    && stop.ends(super::handover::live_feed(&p.slot)))
                            });
                            self.clips.live_stop = Some(stop);
                        }
                        _ => {}
                    }
                    // The one-time feed address is the console's business while the voice
                    // lasts, and no one's after: it is not kept.
                    let mut action = action;
                    action.feed = None;
                    self.record(&[Event::ConsoleAction(action)], at);
                    if let Err(e) = std::fs::remove_file(&path) {
                        tracing::error!("{}: {e}", path.display());
                    }
                }
                Err(reason) => {
                    tracing::error!(
                        "{}",
                        tr!(
                            lang,
                            "thao tác từ bảng điều khiển không đọc được, để riêng: {}: {}",
                            "a console action that does not read, set aside: {}: {}",
                            path.display(),
                            reason
                        )
                    );
                    let _ = std::fs::rename(&path, path.with_extension("bad"));
                }
            }
        }
    }
}
