//! Files handed over through the operator's doors: the emergency folder (aired at once,
//! cutting what is on air) and the play folder (aired once nothing is on air); each moves to
//! its folder's `da-phat/` once aired.

use super::*;

impl Daemon<'_> {
    /// Complete, decodable files handed over in the emergency folder and the play folder
    /// that are not yet queued. An emergency file becomes an emergency broadcast of the file
    /// repeated as configured; a played one airs once, as soon as nothing is on air.
    /// (Undecodable ones are reported by the catalog, once.)
    pub(super) fn scan_handed(&mut self) -> Vec<Pending> {
        let lang = self.lang();
        let mut out: Vec<Pending> = self.live_pending().into_iter().collect();
        for dir in [self.config.emergency_dir.clone(), PLAY_DIR.to_string()] {
            let emergency = dir == self.config.emergency_dir;
            type Ready = (String, std::path::PathBuf, Option<crate::sidecar::ClipMeta>);
            let ready: Vec<Ready> = self
                .clips
                .catalog
                .queue(&dir)
                .filter(|c| matches!(c.state, ClipState::Ready(_)))
                .map(|c| (c.rel.clone(), c.path.clone(), c.meta.clone().ok()))
                .collect();
            for (rel, path, meta) in ready {
                let queued = self
                    .timeline
                    .queue
                    .iter()
                    .any(|q| self.handed_file(q).is_some_and(|f| f == rel));
                let resting = self
                    .clips
                    .emergency_failed
                    .get(&rel)
                    .is_some_and(|t| self.since(*t) < EMERGENCY_RETRY);
                let on_air = self
                    .publishing
                    .status
                    .on_air
                    .as_ref()
                    .is_some_and(|a| a.clips.contains(&rel));
                if queued || resting || on_air {
                    continue;
                }
                // A bulletin handed in by `loaxa sync` carries its title and repeats.
                let name = meta
                    .as_ref()
                    .and_then(|m| m.title.clone())
                    .unwrap_or_else(|| rel.rsplit('/').next().unwrap_or(&rel).to_string());
                let repeat = meta.as_ref().and_then(|m| m.times);
                let clip = crate::schedule::ClipRef {
                    rel: rel.clone(),
                    topic: None,
                };
                let slot = if emergency {
                    self.emergency_slot(&name, clip, repeat)
                } else {
                    // A province's ưu tiên bulletin says its priority in its sidecar: it
                    // airs before what waits at a lower one. Its own slot id keeps each of
                    // its times its own occurrence.
                    let id = meta
                        .as_ref()
                        .and_then(|m| m.bulletin)
                        .map_or_else(|| MANUAL_SLOT.to_string(), bulletin_slot);
                    Slot::ad_hoc(
                        MANUAL_PLAN,
                        &id,
                        tr!(lang, "phát thủ công: {name}", "manual play: {name}"),
                        meta.as_ref().and_then(|m| m.priority).unwrap_or_default(),
                        vec![clip],
                    )
                };
                if self.expired(&rel, &path, emergency, meta.as_ref(), &slot) {
                    continue;
                }
                // A hand-over with times of day (a province's ưu tiên bulletin) waits for the
                // next of them not yet aired; any other airs now.
                let now = self.clock.now();
                let times = meta
                    .as_ref()
                    .filter(|_| !emergency)
                    .map(|m| (&m.at, m.ends));
                let at = match times {
                    Some((times, ends)) if !times.is_empty() => {
                        match self.next_time_of_day(&slot, times, ends, now) {
                            Some(at) => at,
                            None => {
                                // Every time it has before its end has aired.
                                self.retire_handed(&rel);
                                continue;
                            }
                        }
                    }
                    _ => now,
                };
                if emergency {
                    tracing::warn!(
                        "{}",
                        tr!(
                            lang,
                            "TIN KHẨN CẤP: {} — phát ngay",
                            "EMERGENCY: {} — airing now",
                            name
                        )
                    );
                } else {
                    tracing::info!(
                        "{}",
                        tr!(
                            lang,
                            "nhận bài phát thủ công {}: phát ngay khi không có gì đang phát",
                            "manual play {} handed over: it airs as soon as nothing is on air",
                            name
                        )
                    );
                }
                out.push(Pending {
                    slot,
                    at,
                    manual: true,
                    schedule_sha256: None,
                });
            }
        }
        out
    }

    /// The live occurrence asked for (`loaxa live`, the console's Live button): the
    /// station's `live_input` relayed through the relay path, at the priority asked, for at
    /// most `live_max_minutes`. It waits for what is on air, or cuts it as an emergency, by
    /// the priority rules as any occurrence.
    fn live_pending(&mut self) -> Option<Pending> {
        let super::LiveStart { priority, by, feed } = self.clips.live_start.take()?;
        let lang = self.lang();
        let source = match &feed {
            Some(feed) => Some(browser_feed(feed).map(|s| {
                let text = s.to_string();
                (s, text)
            })),
            None => self.config.live_input.as_deref().map(|input| {
                crate::relay::Source::parse(input, lang).map(|s| (s, input.to_string()))
            }),
        };
        let (source, text) = match source {
            Some(Ok(s)) => s,
            Some(Err(why)) => {
                tracing::error!("live_input: {why}");
                return None;
            }
            None => {
                tracing::error!("{}", crate::config::no_live_input(lang));
                return None;
            }
        };
        let mut slot = Slot::ad_hoc(
            MANUAL_PLAN,
            LIVE_SLOT,
            tr!(lang, "phát trực tiếp ({by})", "live ({by})"),
            priority,
            Vec::new(),
        );
        slot.relay = Some(crate::schedule::RelaySlot {
            source,
            text: text.clone(),
            duration_ms: u64::try_from(self.config.live_max.as_millis()).unwrap_or(u64::MAX),
            fallback: Vec::new(),
            until: None,
        });
        tracing::warn!(
            "{}",
            tr!(
                lang,
                "{by} phát trực tiếp từ {text} ({})",
                "{by} goes live from {text} ({})",
                priority.label(lang)
            )
        );
        Some(Pending {
            slot,
            at: self.clock.now(),
            manual: true,
            schedule_sha256: None,
        })
    }

    /// The next instant, from `now` less the grace and before `ends`, at one of these times
    /// of day in the station's zone, that `slot` has not aired at (its journal says).
    fn next_time_of_day(
        &self,
        slot: &Slot,
        times: &[chrono::NaiveTime],
        ends: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let tz = self.config.timezone;
        let grace = chrono::Duration::from_std(self.config.grace).unwrap_or_default();
        let today = now.with_timezone(&tz).date_naive();
        let mut candidates: Vec<DateTime<Utc>> = times
            .iter()
            .flat_map(|t| {
                [today, today + chrono::Duration::days(1)]
                    .into_iter()
                    .filter_map(move |d| crate::recurrence::local_to_utc(tz, d.and_time(*t)))
            })
            .filter(|at| *at >= now - grace && ends.is_none_or(|e| *at < e))
            .collect();
        candidates.sort();
        candidates.into_iter().find(|at| {
            let key = broadcast::occurrence_info(slot, *at, true, None).key;
            match self.knows(&key) {
                Ok(known) => !known,
                Err(e) => {
                    tracing::error!("{e}");
                    false
                }
            }
        })
    }

    /// The broadcast an emergency file makes: its intro, then the file as many times as
    /// the station says.
    fn emergency_slot(
        &self,
        name: &str,
        clip: crate::schedule::ClipRef,
        repeat: Option<u32>,
    ) -> Slot {
        let mut slot = Slot::ad_hoc(
            EMERGENCY_PLAN,
            EMERGENCY_PLAN,
            tr!(self.lang(), "Tin khẩn cấp: {name}", "Emergency: {name}"),
            crate::schedule::Priority::Emergency,
            vec![clip; repeat.unwrap_or(self.config.emergency_repeat) as usize],
        );
        slot.intro = emergency_intro(&self.config);
        slot
    }

    /// Whether an emergency file was handed over longer ago than the station allows, or a
    /// hand-over's sidecar end (a bulletin's) has come. If so, it never airs: it is journaled
    /// as missed (expired, with its age or end), moved to its folder's `het-han/` and shown
    /// in the status. Anything time-critical has an end.
    fn expired(
        &mut self,
        rel: &str,
        path: &std::path::Path,
        emergency: bool,
        sidecar: Option<&crate::sidecar::ClipMeta>,
        slot: &Slot,
    ) -> bool {
        let Ok(meta) = std::fs::metadata(path) else {
            return false;
        };
        let handed_at = DateTime::<Utc>::from(crate::library::handed_at(&meta));
        let now = self.clock.now();
        let age = now - handed_at;
        let max = chrono::Duration::from_std(self.config.emergency_max_age)
            .unwrap_or(chrono::Duration::MAX);
        let ends = sidecar.and_then(|m| m.ends).filter(|e| now >= *e);
        if (age <= max || !emergency) && ends.is_none() {
            return false;
        }
        let p = Pending {
            slot: slot.clone(),
            at: handed_at,
            manual: true,
            schedule_sha256: None,
        };
        let reason = match ends {
            Some(ends) => Reason::PastEnd {
                file: rel.to_string(),
                ends,
            },
            None => Reason::Expired {
                file: rel.to_string(),
                handed_at,
                age_seconds: age.num_seconds(),
                max_age_seconds: max.num_seconds(),
            },
        };
        match self.missed(&p, reason) {
            Ok(Some(event)) => self.record(std::slice::from_ref(&event), now),
            Ok(None) => {}
            Err(e) => tracing::error!("{e}"),
        }
        if let Err(e) = self.clips.catalog.expire(rel) {
            tracing::error!("{rel} → {}/: {e}", crate::catalog::EXPIRED_DIR);
        }
        let expired = &mut self.publishing.status.expired;
        // A file that could not be moved is found again: said once.
        if expired
            .iter()
            .any(|e| e.file == rel && e.handed_at == handed_at)
        {
            return true;
        }
        expired.push(crate::status::Expired {
            file: rel.to_string(),
            handed_at,
            found_at: now,
            max_age_seconds: max.num_seconds(),
        });
        let over = expired.len().saturating_sub(crate::status::Expired::KEEP);
        expired.drain(..over);
        true
    }

    /// The handed-over file an occurrence airs, if it came through a hand-over folder.
    pub(super) fn handed_file<'p>(&self, p: &'p Pending) -> Option<&'p str> {
        if !p.manual {
            return None;
        }
        let rel = p.slot.play.first().map(|c| c.rel.as_str())?;
        let dir = match p.slot.plan.as_str() {
            EMERGENCY_PLAN => self.config.emergency_dir.as_str(),
            MANUAL_PLAN => PLAY_DIR,
            _ => return None,
        };
        rel.strip_prefix(dir)
            .is_some_and(|r| r.starts_with('/'))
            .then_some(rel)
    }

    /// After a handed-over file aired, it moves to the aired folder so it never airs twice.
    /// An emergency that could not air at all stays, to be tried again; a manual play is
    /// not retried (its failure is journaled and the operator can play it again).
    pub(super) fn settle_handed(&mut self, p: &Pending, outcome: Option<Outcome>) {
        let Some(rel) = self.handed_file(p).map(str::to_string) else {
            return;
        };
        if outcome == Some(Outcome::Failed) && p.slot.plan == EMERGENCY_PLAN {
            let now = self.mono();
            self.clips.emergency_failed.insert(rel, now);
            return;
        }
        self.clips.emergency_failed.remove(&rel);
        // A bulletin with times of day stays for the next of them before its end.
        let meta = self
            .clips
            .catalog
            .get(&rel)
            .and_then(|c| c.meta.clone().ok());
        if let Some(m) = meta.filter(|m| !m.at.is_empty() && p.slot.plan == MANUAL_PLAN) {
            // (The time just aired is journaled now, so it is not found again.)
            let now = self.clock.now();
            if self.next_time_of_day(&p.slot, &m.at, m.ends, now).is_some() {
                return;
            }
        }
        self.retire_handed(&rel);
    }

    /// A handed-over file done with: to its folder's aired folder, so it never airs again.
    fn retire_handed(&mut self, rel: &str) {
        if let Err(e) = self.clips.catalog.retire(rel) {
            tracing::error!("{rel} → {}/: {e}", crate::catalog::RETIRED_DIR);
        }
    }
}

/// The slot id a province's bulletin airs under: its own, so each of its times is an
/// occurrence of its own in the journal (and the centre can tell which bulletin aired).
pub(super) fn bulletin_slot(bulletin: i64) -> String {
    format!("{BULLETIN_SLOT}{bulletin}")
}

pub(super) const BULLETIN_SLOT: &str = "ban-tin-";

/// The source for a voice the console passes on from a browser: only ever a plain address on
/// this machine's loopback (the mailbox is a door other hands could write through; the daemon
/// reaches out to nothing else on its say).
fn browser_feed(feed: &str) -> Result<crate::relay::Source, String> {
    let url = crate::net::Url::parse(feed)?;
    if url.tls || url.userinfo.is_some() || url.host != "127.0.0.1" {
        return Err(format!("{feed}: not the console's loopback feed"));
    }
    Ok(crate::relay::Source::Browser(url))
}

/// The address a feed names, if it is one.
pub(super) fn feed_url(feed: Option<&str>) -> Option<crate::net::Url> {
    crate::net::Url::parse(feed?).ok()
}

/// The console's feed a live occurrence airs, if it is a browser's voice.
pub(super) fn live_feed(slot: &Slot) -> Option<crate::net::Url> {
    match &slot.relay.as_ref()?.source {
        crate::relay::Source::Browser(url) => Some(url.clone()),
        _ => None,
    }
}
