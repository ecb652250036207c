//! What the rest of loaxa asks the journal: records and counts for a period, shortfalls, what
//! aired from a folder, the schedules in force, rejections.

use super::*;

impl Journal {
    /// Whether a clip with this content ever went on air (a scan: for the rare deletion of a
    /// clip from the console, which must never remove evidence).
    pub fn knows_clip(&self, sha256: &str) -> Result<bool, JournalError> {
        self.conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM events WHERE kind = 'clip_aired' AND sha256 = ?1 AND played_ms > 0)",
                [sha256],
                |r| r.get(0),
            )
            .map_err(self.sql())
    }

    /// Whether anything is journaled for this occurrence (it must never be journaled twice).
    pub fn knows(&self, key: &str) -> Result<bool, JournalError> {
        // Asked at every wake of the daemon: the statement is prepared once.
        self.conn
            .prepare_cached("SELECT 1 FROM events WHERE occurrence = ?1 LIMIT 1")
            .and_then(|mut st| st.query_row([key], |_| Ok(())))
            .optional()
            .map(|r| r.is_some())
            .map_err(self.sql())
    }

    /// Whether a batch of events written together already reached the journal after event
    /// `after_seq` (they are one transaction: the first one tells for all).
    pub fn holds(&self, events: &[Event], after_seq: i64) -> Result<bool, JournalError> {
        let Some(first) = events.first() else {
            return Ok(true);
        };
        let body = serde_json::to_string(first).map_err(|e| JournalError::Corrupt {
            path: self.path.clone(),
            seq: after_seq,
            reason: e.to_string(),
        })?;
        self.conn
            .query_row(
                "SELECT 1 FROM events WHERE seq > ?1 AND kind = ?2 AND body = ?3 LIMIT 1",
                params![after_seq, first.kind(), body],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(self.sql())
    }

    /// The last moment loaxa is known to have been running: its latest event.
    pub fn last_activity(&self) -> Result<Option<DateTime<Utc>>, JournalError> {
        self.instant(
            "SELECT recorded_at FROM events ORDER BY seq DESC LIMIT 1",
            &[],
        )
    }

    /// The instant (an RFC 3339 text) in the one row `sql` selects, if any.
    fn instant(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Option<DateTime<Utc>>, JournalError> {
        let at: Option<Option<String>> = self
            .conn
            .query_row(sql, args, |r| r.get(0))
            .optional()
            .map_err(self.sql())?;
        Ok(at
            .flatten()
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    /// Where the last run began to answer for occurrences (see `Event::StationStarted`), if
    /// a run has started and its journal says.
    pub fn last_accounts_from(&self) -> Result<Option<DateTime<Utc>>, JournalError> {
        self.instant(
            "SELECT json_extract(body, '$.accounts_from') FROM events
             WHERE kind = 'station_started' ORDER BY seq DESC LIMIT 1",
            &[],
        )
    }

    /// The operator's last choice of order for a province's ưu tiên bulletin that clashes
    /// with a commune priority item (the default if never chosen).
    pub fn clash_order(&self) -> Result<crate::journal::ClashOrder, JournalError> {
        let code: Option<String> = self
            .conn
            .query_row(
                "SELECT json_extract(body, '$.detail') FROM events
                 WHERE kind = 'console_action'
                   AND json_extract(body, '$.what') = 'bulletin_order'
                 ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql())?
            .flatten();
        Ok(code
            .as_deref()
            .and_then(crate::journal::ClashOrder::from_code)
            .unwrap_or_default())
    }

    /// When the version in force of schedule `file` was loaded (its last
    /// `schedule_loaded` event).
    pub fn schedule_loaded_at(&self, file: &str) -> Result<Option<DateTime<Utc>>, JournalError> {
        self.instant(
            "SELECT recorded_at FROM events WHERE kind = 'schedule_loaded'
             AND json_extract(body, '$.file') = ?1 ORDER BY seq DESC LIMIT 1",
            &[&file],
        )
    }

    /// When the last run started (its `station_started` event), if any did.
    pub fn last_started(&self) -> Result<Option<DateTime<Utc>>, JournalError> {
        self.instant(
            "SELECT recorded_at FROM events WHERE kind = 'station_started'
             ORDER BY seq DESC LIMIT 1",
            &[],
        )
    }

    /// The keys of the occurrences the journal has any event for, scheduled in `[from, until]`.
    pub fn occurrences_scheduled(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<std::collections::HashSet<String>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT occurrence FROM events
                 WHERE scheduled_at >= ?1 AND scheduled_at <= ?2 AND occurrence IS NOT NULL",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(
                params![from.timestamp_millis(), until.timestamp_millis()],
                |r| r.get::<_, String>(0),
            )
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The latest scheduled instant the journal accounts for.
    pub fn last_scheduled(&self) -> Result<Option<DateTime<Utc>>, JournalError> {
        let last: Option<i64> = self
            .conn
            .query_row("SELECT MAX(scheduled_at) FROM events", [], |r| r.get(0))
            .map_err(self.sql())?;
        Ok(last.and_then(|m| Utc.timestamp_millis_opt(m).single()))
    }

    fn events_where(
        &self,
        clause: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<(i64, Event)>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT seq, body FROM events {clause} ORDER BY seq"
            ))
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(args, |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, body) = row.map_err(self.sql())?;
            let event = serde_json::from_str(&body).map_err(|e| JournalError::Corrupt {
                path: self.path.clone(),
                seq,
                reason: e.to_string(),
            })?;
            out.push((seq, event));
        }
        Ok(out)
    }

    /// Records of the occurrences scheduled in `[from, to)`, in schedule order.
    pub fn records(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Record>, JournalError> {
        let events = self.events_where(
            "WHERE occurrence IN (SELECT occurrence FROM events WHERE scheduled_at >= ?1 AND scheduled_at < ?2)",
            &[&ms(from), &ms(to)],
        )?;
        let mut records = fold(events.into_iter().map(|(_, e)| e));
        records.sort_by_key(|r| r.info.scheduled_at);
        Ok(records)
    }

    /// How many planned broadcasts (not manual, not missed) were started for `[from, to)`.
    pub fn sessions_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64, JournalError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM events INDEXED BY events_outcomes
                 WHERE kind = 'broadcast_started' AND scheduled_at >= ?1 AND scheduled_at < ?2 AND manual = 0",
                params![ms(from), ms(to)],
                |r| r.get(0),
            )
            .map_err(self.sql())
    }

    /// Counts of planned (non-manual) occurrences scheduled in `[from, to)` by plan, slot,
    /// topic and outcome (`None`: started but not ended).
    pub fn outcome_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<OutcomeCount>, JournalError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT kind, plan, slot, topic, outcome, COUNT(*) FROM events INDEXED BY events_outcomes
                 WHERE kind IN ('broadcast_started', 'broadcast_ended', 'occurrence_missed')
                   AND scheduled_at >= ?1 AND scheduled_at < ?2 AND manual = 0
                 GROUP BY 1, 2, 3, 4, 5",
            )
            .map_err(self.sql())?;
        let mut rows = stmt.query(params![ms(from), ms(to)]).map_err(self.sql())?;
        // Per plan/slot/topic: started, and ended-or-missed by outcome. The difference between
        // started and ended is what is still on air (or was cut by a crash not yet recovered).
        type Key = (String, String, Option<String>);
        let mut started: BTreeMap<Key, i64> = BTreeMap::new();
        let mut ended: BTreeMap<(Key, Option<Outcome>), i64> = BTreeMap::new();
        while let Some(r) = rows.next().map_err(self.sql())? {
            let kind: String = r.get(0).map_err(self.sql())?;
            let key: Key = (
                r.get(1).map_err(self.sql())?,
                r.get(2).map_err(self.sql())?,
                r.get(3).map_err(self.sql())?,
            );
            let outcome = r
                .get::<_, Option<String>>(4)
                .map_err(self.sql())?
                .and_then(|o| Outcome::parse(&o));
            let n: i64 = r.get(5).map_err(self.sql())?;
            if kind == "broadcast_started" {
                *started.entry(key).or_default() += n;
            } else {
                if kind == "broadcast_ended" {
                    *started.entry(key.clone()).or_default() -= n;
                }
                *ended.entry((key, outcome)).or_default() += n;
            }
        }
        let mut out: Vec<OutcomeCount> = ended
            .into_iter()
            .map(|((k, outcome), count)| OutcomeCount {
                plan: k.0,
                slot: k.1,
                topic: k.2,
                outcome,
                count,
            })
            .collect();
        out.extend(
            started
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, count)| OutcomeCount {
                    plan: k.0,
                    slot: k.1,
                    topic: k.2,
                    outcome: None,
                    count,
                }),
        );
        Ok(out)
    }

    /// What each clip did in planned occurrences scheduled in `[from, to)`, by slot, topic,
    /// file and content hash.
    pub fn clip_figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ClipFigure>, JournalError> {
        self.figures("clip_aired", from, to)
    }

    /// What each relay did in planned occurrences in `[from, to)`, by slot, topic and source:
    /// `played_ms` is what came from the source, `aired_in_full` the relays completed.
    pub fn relay_figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ClipFigure>, JournalError> {
        self.figures("relay_aired", from, to)
    }

    /// Figures of `clip_aired` or `relay_aired` events in `[from, to)`, by slot, topic,
    /// file (or source) and content hash.
    fn figures(
        &self,
        kind: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ClipFigure>, JournalError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT substr(occurrence, 1, instr(occurrence, '@') - 1), topic, clip, COALESCE(sha256, ''),
                        SUM(outcome = 'completed'), SUM(played_ms), SUM(COALESCE(dead_air, 0))
                 FROM events INDEXED BY events_clips
                 WHERE kind = ?3 AND scheduled_at >= ?1 AND scheduled_at < ?2
                   AND occurrence NOT LIKE 'manual/%'
                 GROUP BY 1, 2, 3, 4",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![ms(from), ms(to), kind], |r| {
                let slot_key: String = r.get(0)?;
                let (plan, slot) = slot_key
                    .split_once('/')
                    .map(|(p, s)| (p.to_string(), s.to_string()))
                    .unwrap_or_default();
                Ok(ClipFigure {
                    plan,
                    slot,
                    topic: r.get(1)?,
                    clip: r.get(2)?,
                    sha256: r.get(3)?,
                    aired_in_full: r.get(4)?,
                    played_ms: r.get(5)?,
                    dead_air: r.get(6)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The planned occurrences in `[from, to)` that did not air in full, from their end
    /// (or missed) events alone, in schedule order; with `unfinished`, also those started
    /// and not ended.
    pub fn shortfalls(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        unfinished: bool,
    ) -> Result<Vec<Shortfall>, JournalError> {
        let mut out = Vec::new();
        for (_, e) in self.events_where(
            "INDEXED BY events_outcomes WHERE kind IN ('broadcast_ended', 'occurrence_missed')
               AND scheduled_at >= ?1 AND scheduled_at < ?2 AND manual = 0 AND outcome != 'completed'",
            &[&ms(from), &ms(to)],
        )? {
            match e {
                Event::BroadcastEnded { occurrence, outcome, reason, .. } => out.push(Shortfall {
                    info: occurrence,
                    outcome: Some(outcome),
                    reason,
                }),
                Event::OccurrenceMissed { occurrence, reason } => out.push(Shortfall {
                    info: occurrence,
                    outcome: Some(Outcome::Missed),
                    reason: Some(reason),
                }),
                _ => {}
            }
        }
        if unfinished {
            for (_, e) in self.events_where(
                "WHERE kind = 'broadcast_started' AND scheduled_at >= ?1 AND scheduled_at < ?2 AND manual = 0
                   AND occurrence NOT IN (SELECT occurrence FROM events INDEXED BY events_outcomes
                       WHERE kind = 'broadcast_ended' AND scheduled_at >= ?1 AND scheduled_at < ?2)",
                &[&ms(from), &ms(to)],
            )? {
                if let Event::BroadcastStarted { occurrence, .. } = e {
                    out.push(Shortfall {
                        info: occurrence,
                        outcome: None,
                        reason: None,
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            a.info
                .scheduled_at
                .cmp(&b.info.scheduled_at)
                .then(a.info.key.cmp(&b.info.key))
        });
        Ok(out)
    }

    /// Broadcasts that were started but never ended: loaxa stopped abruptly while airing.
    pub fn unfinished(&self) -> Result<Vec<Record>, JournalError> {
        let events = self.events_where(
            "WHERE occurrence IN (SELECT occurrence FROM events WHERE kind = 'broadcast_started'
               EXCEPT SELECT occurrence FROM events WHERE kind = 'broadcast_ended')",
            &[],
        )?;
        Ok(fold(events.into_iter().map(|(_, e)| e)))
    }

    /// The journal sequence number of each clip under `folder/`'s last full airing: queue
    /// rotation's order. Numbers, not times: a clock set back, or two broadcasts journaled in
    /// the same millisecond, cannot reorder them.
    pub fn last_aired(&self, folder: &str) -> Result<HashMap<String, i64>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT clip, MAX(seq) FROM events INDEXED BY events_by_clip
                 WHERE clip >= ?1 AND clip < ?2 AND kind = 'clip_aired' AND outcome = 'completed'
                 GROUP BY clip",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![format!("{folder}/"), format!("{folder}0")], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The schedule versions in force as of the journal's last word: for each file, its
    /// latest stored content, unless it was unloaded since. (file, sha256, content).
    pub fn schedules_in_force(&self) -> Result<Vec<(String, String, String)>, JournalError> {
        let events = self.events_where(
            "WHERE kind IN ('schedule_loaded', 'schedule_unloaded')",
            &[],
        )?;
        let mut in_force: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (_, e) in events {
            match e {
                Event::ScheduleLoaded {
                    file,
                    sha256,
                    content,
                } => {
                    in_force.insert(file, (sha256, content));
                }
                Event::ScheduleUnloaded { file } => {
                    in_force.remove(&file);
                }
                _ => {}
            }
        }
        Ok(in_force.into_iter().map(|(f, (h, c))| (f, h, c)).collect())
    }

    /// Every stored schedule version, oldest first: (file, sha256, content).
    pub fn schedule_history(&self) -> Result<Vec<(String, String, String)>, JournalError> {
        Ok(self
            .events_where("WHERE kind = 'schedule_loaded'", &[])?
            .into_iter()
            .filter_map(|(_, e)| match e {
                Event::ScheduleLoaded {
                    file,
                    sha256,
                    content,
                } => Some((file, sha256, content)),
                _ => None,
            })
            .collect())
    }

    /// How many times each clip under `folder/` aired in full (manual airings included),
    /// whatever its content: [`Journal::aired_versions`] summed by path.
    pub fn aired_counts(&self, folder: &str) -> Result<HashMap<String, i64>, JournalError> {
        Ok(by_path(&self.aired_versions(folder)?))
    }

    /// Files rejected from the audio folder between two instants: when, which, why.
    pub fn rejections(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, String, String)>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT recorded_at, body FROM events
                 WHERE kind = 'clip_rejected' AND recorded_at >= ?1 AND recorded_at < ?2
                 ORDER BY seq",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(
                params![
                    from.to_rfc3339_opts(SecondsFormat::Millis, true),
                    to.to_rfc3339_opts(SecondsFormat::Millis, true)
                ],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (at, body) = row.map_err(self.sql())?;
            let (Ok(at), Ok(Event::ClipRejected { file, reason, .. })) = (
                DateTime::parse_from_rfc3339(&at),
                serde_json::from_str::<Event>(&body),
            ) else {
                continue;
            };
            out.push((at.with_timezone(&Utc), file, reason));
        }
        Ok(out)
    }

    /// How many times each version (path, content hash) of a folder's clips aired in full:
    /// what `once` / `times = N` queues count, so a new file under an old name starts afresh.
    pub fn aired_versions(
        &self,
        folder: &str,
    ) -> Result<HashMap<(String, String), i64>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT clip, sha256, COUNT(*) FROM events INDEXED BY events_by_clip
                 WHERE clip >= ?1 AND clip < ?2 AND kind = 'clip_aired' AND outcome = 'completed'
                 GROUP BY clip, sha256",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![format!("{folder}/"), format!("{folder}0")], |r| {
                Ok(((r.get(0)?, r.get(1)?), r.get(2)?))
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The sha256 of the last stored version of a schedule file.
    pub fn last_schedule_version(&self, file: &str) -> Result<Option<String>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT json_extract(body, '$.sha256') FROM events
                 WHERE kind = 'schedule_loaded' AND json_extract(body, '$.file') = ?1
                 ORDER BY seq DESC LIMIT 1",
            )
            .map_err(self.sql())?;
        stmt.query_row([file], |r| r.get(0))
            .optional()
            .map_err(self.sql())
    }
}
