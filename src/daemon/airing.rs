//! Airing one occurrence: planned, handed to the audio thread to start on the second,
//! watched while it airs (what falls due meanwhile queues, and what outranks it cuts it),
//! and journaled with the verdict on every clip.

use super::*;

impl Daemon<'_> {
    /// Airs one occurrence and journals it; returns how it ended (`None` if it was
    /// already journaled).
    pub(super) async fn air(
        &mut self,
        mut p: Pending,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<Option<Outcome>, DaemonError> {
        let lang = self.lang();
        let now = self.clock.now();
        if p.slot.relay.as_ref().is_some_and(|r| r.until.is_some()) {
            // A relay resumed after an emergency starts once it has had time to connect.
            p.at =
                p.at.max(now + chrono::Duration::seconds(RESUME_LEAD_SECONDS));
        }
        let info = self.info(&p);
        if self.knows(&info.key)? {
            return Ok(None);
        }
        if let Some(q) = &p.slot.queue {
            // A clip the broadcast needs is measured now rather than waited for.
            if self.clips.catalog.measure_now(&q.folder) {
                self.clips.library_dirty = true;
                self.report_notices()?;
            }
        }
        let planner = self.planner();
        let mut prepared = match planner.plan(&*self.journal, &p, info.schedule_sha256.clone())? {
            Planned::Held(reason) => {
                self.journal_missed(&p, reason, now)?;
                return Ok(Some(Outcome::Missed));
            }
            Planned::Airs(prepared) => prepared,
        };
        if let Some(folder) = &prepared.unreadable_queue {
            tracing::error!(
                "{}",
                tr!(
                    lang,
                    "hàng đợi {}/ không phát được: {}/queue.toml có lỗi",
                    "queue {}/ cannot air: its {}/queue.toml has errors",
                    folder,
                    folder
                )
            );
        }
        self.warn_undeclared_topics(&p.slot.plan, &prepared);
        tracing::info!(
            "{}",
            tr!(
                lang,
                "phát {}: «{}» lúc {} ({} bài, {:.0} giây)",
                "airing {}: “{}” at {} ({} clip(s), {:.0} s)",
                p.slot.id,
                p.slot.title,
                self.local(p.at),
                prepared.entries.len(),
                prepared.duration_ms() as f64 / 1000.0
            )
        );
        for e in &prepared.entries {
            if let Some(r) = &e.skip {
                tracing::warn!(
                    "{}",
                    tr!(
                        lang,
                        "bỏ qua {}: {}",
                        "skipping {}: {}",
                        e.plan.rel,
                        r.text(lang)
                    )
                );
            }
        }

        // Relays connect now, in their lead time; each session ends with this function.
        let relays = self.start_relays(&p.slot, &mut prepared);
        let clips = prepared.playable();
        self.publishing.status.on_air = Some(OnAir {
            plan: p.slot.plan.clone(),
            slot: p.slot.id.clone(),
            title: p.slot.title.clone(),
            priority: p.slot.priority,
            scheduled_at: p.at,
            clips: clips.iter().map(|c| c.rel.clone()).collect(),
            rehearsal: p.manual && ![EMERGENCY_PLAN, MANUAL_PLAN].contains(&p.slot.plan.as_str()),
        });
        self.publish_status(true);
        let started = broadcast::started_event(&prepared, self.audio.output_name());
        let (report, stopped) = if clips.is_empty() {
            self.record(std::slice::from_ref(&started), self.clock.now());
            (AirReport::silent(self.audio.output_name()), None)
        } else {
            let start_at = self
                .clock
                .instant_at(p.at)
                .checked_sub(self.config.latency_compensation)
                .unwrap_or_else(|| self.clock.instant_at(self.clock.now()));
            let mut airing = self.audio.air(clips, self.config.volume, start_at).await;
            self.connect_relays(&relays, &prepared, p.at);
            // The start is journaled just before the first sample, not when the device was
            // opened: a crash during the lead time then leaves the occurrence unjournaled, to
            // be aired late (within the grace) or accounted as missed, not as "cut on air".
            // The audio thread does not start until this write is durable.
            let ahead = airing.state.as_ref().map_or(0, |s| {
                s.clear_ahead_ms.load(std::sync::atomic::Ordering::SeqCst) as i64
            });
            let until = (p.at
                - self.clock.now()
                - chrono::Duration::milliseconds(JOURNAL_AHEAD_MS.max(ahead)))
            .to_std()
            .unwrap_or(Duration::ZERO);
            // A relay's lead is long (it connects then): an emergency handed meanwhile cuts it
            // there and then, as it would on air, rather than waiting for it to start.
            let watch_lead =
                !relays.is_empty() && p.slot.priority < crate::schedule::Priority::Emergency;
            let deadline = self.clock.monotonic() + until;
            let mut cut: Option<Reason> = None;
            loop {
                let left = deadline.saturating_sub(self.clock.monotonic());
                if left.is_zero() {
                    break;
                }
                let step = if watch_lead {
                    left.min(AIRING_TICK)
                } else {
                    left
                };
                tokio::select! {
                    _ = self.clock.sleep(step) => {}
                    _ = shutdown.as_mut(), if !self.stopping => {
                        self.stopping = true;
                    }
                }
                if self.stopping {
                    break;
                }
                if watch_lead {
                    let handed = self.housekeeping()?;
                    if let Some(u) = handed
                        .iter()
                        .find(|h| h.slot.priority >= crate::schedule::Priority::Emergency)
                    {
                        cut = Some(Reason::Preempted(u.slot.title.clone()));
                    }
                    self.timeline.queue.extend(handed);
                    if cut.is_some() {
                        break;
                    }
                }
            }
            if self.stopping {
                // Stopped during the lead time: nothing aired, nothing is journaled for it.
                if let Some(s) = &airing.state {
                    s.request_stop();
                }
                let _ = airing.done.await;
                self.publishing.status.on_air = None;
                return Ok(None);
            }
            self.record(std::slice::from_ref(&started), self.clock.now());
            if let Some(why) = cut {
                tracing::warn!(
                    "{}",
                    tr!(
                        lang,
                        "tin khẩn cấp đến trước giờ tiếp sóng: phiên bị ngắt trước khi bắt đầu",
                        "an emergency came before the relay's start: it is cut before it began"
                    )
                );
                if let Some(s) = &airing.state {
                    s.request_stop();
                }
                let report = (&mut airing.done).await.unwrap_or_else(|_| {
                    AirReport::lost(self.audio.output_name(), airing.state.clone())
                });
                (report, Some(why))
            } else {
                self.audio.stream_begin(&p.slot.title);
                if let Some(s) = &airing.state {
                    s.clear_to_start();
                }
                let live_feed = super::handover::live_feed(&p.slot);
                self.watch_airing(&prepared, airing, shutdown, live_feed)
                    .await?
            }
        };
        let end = self.clock.now();
        self.publishing.status.on_air = None;
        self.publishing.status.output_error = report
            .aired
            .error
            .as_ref()
            .map(std::string::ToString::to_string);
        match &report.aired.error {
            Some(_) if self.device_down.is_none() => {
                self.device_down = Some((self.mono() + DEVICE_RETRY_FIRST, DEVICE_RETRY_FIRST));
                self.publishing.status.output_lost_since = Some(end);
            }
            Some(_) => {}
            None if report.aired.started_at.is_some() => {
                self.device_down = None;
                self.publishing.status.output_lost_since = None;
            }
            None => {}
        }
        self.publish_status(true);
        let resume = self.relay_resumption(&p, &prepared, stopped.as_ref(), end);
        let mut events = broadcast::verdict(&prepared, &report, stopped, end);
        if report.aired.started_at.is_some() {
            let facts = self.audio.stream_end().await;
            if let Some(Event::BroadcastEnded { stream, .. }) = events.last_mut() {
                *stream = facts;
            }
        }
        // The clips' results and the end are one fact: written together, with one fsync.
        self.record(&events, end);
        if self.held.backlog.is_empty() {
            if let Err(e) = self.journal.checkpoint() {
                tracing::warn!("journal checkpoint: {e}");
            }
        }
        let mut ended = None;
        if let Some(Event::BroadcastEnded {
            outcome, reason, ..
        }) = events.last()
        {
            ended = Some(*outcome);
            let reason = reason
                .as_ref()
                .map(|r| format!(" — {}", r.text(lang)))
                .unwrap_or_default();
            tracing::info!(
                "{}",
                tr!(
                    lang,
                    "kết thúc {}: {}{}",
                    "ended {}: {}{}",
                    p.slot.id,
                    outcome.label(lang),
                    reason
                )
            );
        }
        if let Some(r) = resume {
            tracing::info!(
                "{}",
                tr!(
                    lang,
                    "sẽ tiếp sóng lại «{}» sau khi phát xong, đến hết giờ của phiên",
                    "“{}” will be relayed again afterwards, until its slot's end",
                    p.slot.title
                )
            );
            self.timeline.queue.push(r);
        }
        // Aired counts changed: queue clips may be spent.
        self.clips.library_dirty = true;
        self.refresh_catalog()?;
        release_memory();
        // The loop's own view of time restarts after a broadcast: airing is not a clock step.
        self.timeline.last_wall = self.clock.now();
        self.timeline.last_mono = self.clock.monotonic();
        if let Some(n) = &self.publishing.notifier {
            n.status(&self.next_status());
        }
        Ok(ended)
    }

    /// A relay cut by a higher priority comes back for what is left of its slot, once what
    /// cut it has aired: as a manual occurrence (the planned one stays journaled as cut).
    fn relay_resumption(
        &self,
        p: &Pending,
        prepared: &Prepared,
        stopped: Option<&Reason>,
        now: DateTime<Utc>,
    ) -> Option<Pending> {
        let relay = p.slot.relay.as_ref()?;
        if relay.until.is_some() || !matches!(stopped, Some(Reason::Preempted(_))) {
            return None;
        }
        // Whoever was speaking live starts again if they wish: an emergency ends them.
        if is_live(&p.slot.plan, &p.slot.id) {
            return None;
        }
        let end = p.at + chrono::Duration::milliseconds(prepared.duration_ms() as i64);
        if end - now < chrono::Duration::seconds(RESUME_LEAD_SECONDS + 10) {
            return None;
        }
        let mut slot = p.slot.clone();
        slot.intro = None;
        slot.title = tr!(
            self.lang(),
            "{} (tiếp sóng lại)",
            "{} (relay resumed)",
            p.slot.title
        );
        if let Some(r) = slot.relay.as_mut() {
            r.until = Some(end);
        }
        Some(Pending {
            slot,
            // Not before the slot's own start (an emergency in a relay's lead time).
            at: now.max(p.at),
            manual: true,
            schedule_sha256: p.schedule_sha256.clone(),
        })
    }

    /// A session (a feed the output will read) for each relay of the broadcast; they connect
    /// once [`Daemon::connect_relays`] is called.
    fn start_relays(
        &self,
        slot: &Slot,
        prepared: &mut Prepared,
    ) -> Vec<(crate::relay::Session, crate::relay::Source)> {
        let mut sessions = Vec::new();
        let Some(source) = slot.relay.as_ref().map(|r| &r.source) else {
            return sessions;
        };
        for e in &mut prepared.entries {
            let Some(item) = e.playable.as_mut() else {
                continue;
            };
            let (channels, rate) = (item.channels, item.sample_rate);
            let Some(relay) = item.relay_mut() else {
                continue;
            };
            let s = crate::relay::Session::for_source(source, channels, rate);
            relay.feed = Some(s.feed());
            sessions.push((s, source.clone()));
        }
        sessions
    }

    /// Connects the relays' sessions, to run until the broadcast's end. Called once the
    /// output is open: a line-in capture and the output are not opened at the same moment
    /// (ALSA's PulseAudio plugin was seen to fail the second of two PCMs opened at once).
    fn connect_relays(
        &self,
        sessions: &[(crate::relay::Session, crate::relay::Source)],
        prepared: &Prepared,
        at: DateTime<Utc>,
    ) {
        let lang = self.lang();
        let ahead = (at - self.clock.now()).to_std().unwrap_or(Duration::ZERO);
        let until = std::time::Instant::now()
            + ahead
            + Duration::from_millis(prepared.duration_ms())
            + Duration::from_secs(10);
        let target = self
            .config
            .loudness
            .normalize
            .then_some(self.config.loudness.target);
        for (session, source) in sessions {
            tracing::info!(
                "{}",
                tr!(
                    lang,
                    "kết nối nguồn tiếp sóng {}",
                    "connecting to relay source {}",
                    source
                )
            );
            session.run(source.clone(), until, target, lang);
        }
    }

    /// Waits for a broadcast to end while watching the schedule: what falls due meanwhile is
    /// queued, and if it outranks what is on air, the broadcast gives way.
    pub(super) async fn watch_airing(
        &mut self,
        prepared: &Prepared,
        mut airing: crate::audio::actor::Airing,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
        live_feed: Option<crate::net::Url>,
    ) -> Result<(AirReport, Option<Reason>), DaemonError> {
        let current = prepared.info.priority;
        let mut stopped: Option<Reason> = None;
        let mut due_checked: Option<(DateTime<Utc>, u64)> = None;
        let report = loop {
            // Wakes for what may cut this broadcast — an occurrence of higher priority at its
            // instant, an emergency file once settled — and otherwise rarely: every wake-up
            // is CPU the broadcast pays for.
            // A live voice is looked at more often: one that went must end within a second.
            let tick = if is_live(&prepared.info.plan, &prepared.info.slot) {
                LIVE_TICK
            } else {
                AIRING_TICK
            };
            let wait = self
                .sleep_for(self.clock.now(), chrono::Duration::zero())
                .min(tick);
            tokio::select! {
                r = &mut airing.done => {
                    break r.unwrap_or_else(|_| AirReport::lost(self.audio.output_name(), airing.state.clone()));
                }
                _ = self.doze(wait) => {
                    // Keeps the status fresh through long broadcasts, shows rejections at
                    // once, and hears emergencies.
                    let handed = self.housekeeping()?;
                    // A withdrawn bulletin on air is cut: a false alarm must be stoppable.
                    let withdrawn = std::mem::take(&mut self.clips.withdrawn);
                    if let Some((_, why)) = withdrawn.iter().find(|(sha, _)| {
                        prepared.entries.iter().any(|e| e.plan.sha256 == *sha)
                    }) {
                        if stopped.is_none() {
                            tracing::warn!("{}", tr!(self.lang(), "ngắt phiên đang phát: {}", "cutting the broadcast on air: {}", why.text(self.lang())));
                            stopped = Some(why.clone());
                            if let Some(s) = &airing.state {
                                s.request_stop();
                            }
                        }
                    }
                    // A live occurrence ends when whoever spoke says so.
                    let live = is_live(&prepared.info.plan, &prepared.info.slot);
                    // A microphone that gives nothing (missing, unplugged) ends the live
                    // occurrence within seconds, said, rather than airing silence to its end.
                    let mute = live
                        && stopped.is_none()
                        && (self.clock.now() - prepared.info.scheduled_at).num_seconds() >= LIVE_SILENT_START;
                    if let Some((source, error)) = prepared.entries.iter().filter(|_| mute).find_map(|e| {
                        let relay = e.playable.as_ref()?.relay()?;
                        let facts = relay.feed.as_ref()?.facts();
                        facts.connected_at.is_none().then(|| {
                            (relay.source.clone(), facts.errors.last().map_or_else(|| "?".to_string(), |(_, e, _)| e.clone()))
                        })
                    }) {
                        let why = Reason::SourceDown { source, error };
                        tracing::error!("{}", why.text(self.lang()));
                        stopped = Some(why);
                        if let Some(s) = &airing.state {
                            s.request_stop();
                        }
                    }
                    // A browser's voice that went (its tab closed, its network dropped) ends
                    // the live occurrence at once, interrupted, with why.
                    if let Some(error) = prepared.entries.iter().filter(|_| live && stopped.is_none()).find_map(|e| {
                        e.playable.as_ref()?.relay()?.feed.as_ref()?.facts().ended
                    }) {
                        let why = Reason::VoiceLost { error };
                        tracing::warn!("{}", why.text(self.lang()));
                        stopped = Some(why);
                        if let Some(s) = &airing.state {
                            s.request_cut();
                        }
                    }
                    if let Some(super::LiveStop { by, .. }) = self.clips.live_stop.take().filter(|s| live && stopped.is_none() && s.ends(live_feed.clone())) {
                        tracing::info!("{}", tr!(self.lang(), "{by} dừng phát trực tiếp", "{by} ends the live broadcast"));
                        stopped = Some(Reason::LiveEnded { by });
                        if let Some(s) = &airing.state {
                            s.request_stop();
                        }
                    }
                    // Nothing airs past its end (a bulletin's `until`): a long one started
                    // just before is cut there.
                    let now = self.clock.now();
                    let ended = prepared.entries.iter().find_map(|e| {
                        let meta = self.clips.catalog.get(&e.plan.rel)?.meta.as_ref().ok()?;
                        meta.ends.filter(|end| now >= *end).map(|end| (e.plan.rel.clone(), end))
                    });
                    if let (Some((file, ends)), None) = (ended, &stopped) {
                        let why = Reason::PastEnd { file, ends };
                        tracing::warn!("{}", tr!(self.lang(), "ngắt phiên đang phát: {}", "cutting the broadcast on air: {}", why.text(self.lang())));
                        stopped = Some(why);
                        if let Some(s) = &airing.state {
                            s.request_stop();
                        }
                    }
                    let urgent = handed.iter().find(|p| p.slot.priority >= crate::schedule::Priority::Emergency);
                    if let Some(u) = urgent.filter(|_| current < crate::schedule::Priority::Emergency && stopped.is_none()) {
                        tracing::warn!("{}", tr!(self.lang(), "ngắt phiên đang phát để phát tin khẩn cấp", "cutting the broadcast on air for an emergency"));
                        stopped = Some(Reason::Preempted(u.slot.title.clone()));
                        if let Some(s) = &airing.state {
                            s.request_stop();
                        }
                    }
                    self.timeline.queue.extend(handed);
                    let now = self.clock.now();
                    // Asking the journal what is due costs queries: only when an occurrence
                    // can have come due since the last look (or the schedules changed).
                    let look = match due_checked {
                        Some((t, epoch)) if epoch == self.files.schedules_epoch => recurrence::next_after(
                            self.schedules.slots(),
                            self.config.timezone,
                            t,
                            chrono::Duration::days(400),
                        )
                        .is_some_and(|o| o.at <= now),
                        _ => true,
                    };
                    if !look {
                        continue;
                    }
                    due_checked = Some((now, self.files.schedules_epoch));
                    for p in self.due(now)? {
                        self.timeline.cursor = self.timeline.cursor.max(p.at);
                        if p.slot.priority > current && stopped.is_none() {
                            tracing::warn!("{}", tr!(self.lang(), "nhường sóng cho «{}» ({})", "giving way to “{}” ({})", p.slot.title, p.slot.priority.label(self.lang())));
                            stopped = Some(Reason::Preempted(p.slot.title.clone()));
                            if let Some(s) = &airing.state {
                                s.request_stop();
                            }
                        }
                        self.timeline.queue.push(p);
                    }
                }
                _ = shutdown.as_mut(), if !self.stopping => {
                    self.stopping = true;
                    stopped = Some(Reason::Stopped);
                    if let Some(s) = &airing.state {
                        s.request_stop();
                    }
                }
            }
        };
        Ok((report, stopped))
    }
}
