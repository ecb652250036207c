//! The report computed from the journal alone: planned against aired per plan item and slot,
//! the completion score, shortfalls and the clips aired.

use super::*;

/// How planned occurrences ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    pub planned: i64,
    pub completed: i64,
    pub partial: i64,
    pub failed: i64,
    pub missed: i64,
    pub interrupted: i64,
    /// Started but not yet ended (on air as the report was made).
    pub unfinished: i64,
    /// Clip and relay minutes (a relay's only as far as they came from its source).
    pub minutes_aired: f64,
    /// Relays aired in full, and the minutes that came from relay sources (left out of
    /// JSON when there were none, so older reports read as they did).
    #[serde(skip_serializing_if = "is_zero")]
    pub relays: i64,
    #[serde(skip_serializing_if = "is_zero_f")]
    pub relay_minutes: f64,
}

impl Counts {
    pub(crate) fn add(&mut self, outcome: Option<Outcome>, n: i64) {
        self.planned += n;
        match outcome {
            Some(Outcome::Completed) => self.completed += n,
            Some(Outcome::Partial) => self.partial += n,
            Some(Outcome::Failed) => self.failed += n,
            Some(Outcome::Missed) => self.missed += n,
            Some(Outcome::Interrupted) => self.interrupted += n,
            None => self.unfinished += n,
        }
    }

    /// Aired in full over planned, in percent (one decimal), if anything was planned.
    pub fn completion_percent(&self) -> Option<f64> {
        (self.planned > 0)
            .then(|| (self.completed as f64 * 1000.0 / self.planned as f64).round() / 10.0)
    }
}

pub(super) fn is_zero(n: &i64) -> bool {
    *n == 0
}

pub(super) fn is_zero_f(n: &f64) -> bool {
    *n == 0.0
}

/// One row of the per-topic or per-slot table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub plan: String,
    pub key: String,
    pub title: String,
    #[serde(flatten)]
    pub counts: Counts,
    pub completion_percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanSection {
    pub id: String,
    pub title: String,
    pub document: String,
    pub topics: Vec<Row>,
    pub slots: Vec<Row>,
    pub totals: Counts,
    pub completion_percent: Option<f64>,
}

/// An occurrence that did not air in full.
#[derive(Debug, Clone, Serialize)]
pub struct Shortfall {
    pub scheduled: String,
    pub plan: String,
    pub slot: String,
    pub title: String,
    pub outcome: String,
    pub reason: String,
}

/// A clip aired in the period.
#[derive(Debug, Clone, Serialize)]
pub struct ClipLine {
    pub clip: String,
    pub topic: String,
    pub times_aired: i64,
    pub minutes: f64,
    pub sha256_prefix: String,
    /// Airings whose measured levels were (nearly) silent: dead air.
    pub dead_air: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    pub events: i64,
    pub head: String,
}

/// The commune index's rule (criterion 4.1): 100 % scores 1 point, 90–100 % scores the ratio,
/// under 90 % scores nothing.
pub fn index_score(percent: f64) -> f64 {
    if percent >= 100.0 {
        1.0
    } else if percent >= 90.0 {
        (percent * 10.0).round() / 1000.0
    } else {
        0.0
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub station: String,
    pub timezone: String,
    pub period: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Left out of CSV and JSON, which are reproducible byte for byte.
    #[serde(skip)]
    pub generated_at: DateTime<Utc>,
    pub chain: Chain,
    pub plans: Vec<PlanSection>,
    pub totals: Counts,
    pub completion_percent: Option<f64>,
    pub index_score: Option<f64>,
    pub shortfalls: Vec<Shortfall>,
    pub clips: Vec<ClipLine>,
    /// The journal's last event: occurrences after it are not accounted for yet.
    pub journal_until: Option<DateTime<Utc>>,
    /// How far the province's copy goes ("đã gửi lên tỉnh đến sự kiện N"), when the
    /// station sends to one; shown on paper, left out of CSV and JSON (they change as it
    /// sends, and they are reproducible byte for byte).
    #[serde(skip)]
    pub sent: Option<String>,
    #[serde(skip)]
    pub lang: Lang,
    #[serde(skip)]
    pub tz: Tz,
}

pub(super) fn minutes(ms: i64) -> f64 {
    (ms as f64 / 6_000.0).round() / 10.0
}

/// Plan, topic and slot titles from the schedule versions a journal stored (latest wins):
/// the station's report and the province's word plan items the same way.
pub struct Titles {
    plans: BTreeMap<String, (String, String)>,
    topics: BTreeMap<(String, String), String>,
    slots: BTreeMap<(String, String), (usize, String)>,
}

impl Titles {
    /// From schedule texts `(file, content)`, oldest first.
    pub fn from_schedules<'a>(
        schedules: impl IntoIterator<Item = (&'a str, &'a str)>,
        lang: Lang,
    ) -> Titles {
        let mut t = Titles {
            plans: BTreeMap::new(),
            topics: BTreeMap::new(),
            slots: BTreeMap::new(),
        };
        let ctx = Context::text_only(lang);
        for (file, content) in schedules {
            if let (Some(s), _) = schedule::parse(std::path::Path::new(file), content, &ctx, 0) {
                t.plans.insert(
                    s.plan.id.clone(),
                    (s.plan.title.clone(), s.plan.document.clone()),
                );
                for (k, v) in &s.plan.topics {
                    t.topics.insert((s.plan.id.clone(), k.clone()), v.clone());
                }
                for (i, slot) in s.slots.iter().enumerate() {
                    t.slots.insert(
                        (s.plan.id.clone(), slot.id.clone()),
                        (i, slot.title.clone()),
                    );
                }
            }
        }
        t
    }

    /// A plan's title, if a schedule names it.
    pub fn plan(&self, plan: &str) -> Option<&str> {
        self.plans.get(plan).map(|(title, _)| title.as_str())
    }

    /// A plan item's (topic's) title, if its plan's schedule names it.
    pub fn topic(&self, plan: &str, topic: &str) -> Option<&str> {
        self.topics
            .get(&(plan.to_string(), topic.to_string()))
            .map(String::as_str)
    }
}

pub(super) fn titles(journal: &Journal, lang: Lang) -> Result<Titles, JournalError> {
    let history = journal.schedule_history()?;
    Ok(Titles::from_schedules(
        history
            .iter()
            .map(|(file, _, content)| (file.as_str(), content.as_str())),
        lang,
    ))
}

/// Per plan: counts by topic, by slot, and in total.
type Tally = (BTreeMap<String, Counts>, BTreeMap<String, Counts>, Counts);

/// Builds the report for `period` (optionally one plan) from the journal.
pub fn build(
    journal: &Journal,
    station: &str,
    tz: Tz,
    period: Period,
    plan_filter: Option<&str>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Report, JournalError> {
    let (start, end) = period.bounds(tz);
    let (from, to) = period.days();
    let t = titles(journal, lang)?;
    let wanted = |plan: &str| plan_filter.is_none_or(|p| p == plan);
    let no_topic = lang.pick("(không ghi chủ đề)", "(no topic)").to_string();

    let mut plans: BTreeMap<String, Tally> = BTreeMap::new();
    let mut totals = Counts::default();
    for c in journal.outcome_counts(start, end)? {
        if !wanted(&c.plan) {
            continue;
        }
        let entry = plans.entry(c.plan.clone()).or_default();
        entry
            .0
            .entry(c.topic.clone().unwrap_or_default())
            .or_default()
            .add(c.outcome, c.count);
        entry
            .1
            .entry(c.slot.clone())
            .or_default()
            .add(c.outcome, c.count);
        entry.2.add(c.outcome, c.count);
        totals.add(c.outcome, c.count);
    }

    let mut clips: BTreeMap<(String, String), ClipLine> = BTreeMap::new();
    for f in journal.clip_figures(start, end)? {
        if !wanted(&f.plan) {
            continue;
        }
        let entry = plans.entry(f.plan.clone()).or_default();
        entry
            .0
            .entry(f.topic.clone().unwrap_or_default())
            .or_default()
            .minutes_aired += f.played_ms as f64;
        entry.1.entry(f.slot.clone()).or_default().minutes_aired += f.played_ms as f64;
        entry.2.minutes_aired += f.played_ms as f64;
        totals.minutes_aired += f.played_ms as f64;
        let line = clips
            .entry((f.clip.clone(), f.sha256.clone()))
            .or_insert_with(|| ClipLine {
                clip: f.clip.clone(),
                topic: f.topic.clone().unwrap_or_default(),
                times_aired: 0,
                minutes: 0.0,
                sha256_prefix: f.sha256.chars().take(12).collect(),
                dead_air: 0,
            });
        line.times_aired += f.aired_in_full;
        line.minutes += f.played_ms as f64;
        line.dead_air += f.dead_air;
        if line.topic.is_empty() {
            line.topic = f.topic.unwrap_or_default();
        }
    }
    for f in journal.relay_figures(start, end)? {
        if !wanted(&f.plan) {
            continue;
        }
        let entry = plans.entry(f.plan.clone()).or_default();
        let topic = entry
            .0
            .entry(f.topic.clone().unwrap_or_default())
            .or_default();
        for c in [topic, entry.1.entry(f.slot.clone()).or_default()] {
            c.relays += f.aired_in_full;
            c.relay_minutes += f.played_ms as f64;
            c.minutes_aired += f.played_ms as f64;
        }
        for c in [&mut entry.2, &mut totals] {
            c.relays += f.aired_in_full;
            c.relay_minutes += f.played_ms as f64;
            c.minutes_aired += f.played_ms as f64;
        }
        let line = clips
            .entry((f.clip.clone(), String::new()))
            .or_insert_with(|| ClipLine {
                clip: f.clip.clone(),
                topic: f.topic.clone().unwrap_or_default(),
                times_aired: 0,
                minutes: 0.0,
                sha256_prefix: String::new(),
                dead_air: 0,
            });
        line.times_aired += f.aired_in_full;
        line.minutes += f.played_ms as f64;
        line.dead_air += f.dead_air;
    }
    let finish = |mut c: Counts| {
        c.minutes_aired = minutes(c.minutes_aired as i64);
        c.relay_minutes = minutes(c.relay_minutes as i64);
        c
    };
    totals = finish(totals);

    let mut sections = Vec::new();
    for (plan, (topics, slots, plan_totals)) in plans {
        let (title, document) = t
            .plans
            .get(&plan)
            .cloned()
            .unwrap_or_else(|| (plan.clone(), String::new()));
        let topic_rows = topics
            .into_iter()
            .map(|(k, c)| {
                let c = finish(c);
                Row {
                    plan: plan.clone(),
                    title: if k.is_empty() {
                        no_topic.clone()
                    } else {
                        t.topics
                            .get(&(plan.clone(), k.clone()))
                            .cloned()
                            .unwrap_or_default()
                    },
                    key: k,
                    completion_percent: c.completion_percent(),
                    counts: c,
                }
            })
            .collect();
        let mut slot_rows: Vec<(usize, Row)> = slots
            .into_iter()
            .map(|(k, c)| {
                let c = finish(c);
                let (order, title) = t
                    .slots
                    .get(&(plan.clone(), k.clone()))
                    .cloned()
                    .unwrap_or((usize::MAX, k.clone()));
                (
                    order,
                    Row {
                        plan: plan.clone(),
                        key: k,
                        title,
                        completion_percent: c.completion_percent(),
                        counts: c,
                    },
                )
            })
            .collect();
        slot_rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.key.cmp(&b.1.key)));
        let plan_totals = finish(plan_totals);
        sections.push(PlanSection {
            id: plan.clone(),
            title,
            document,
            topics: topic_rows,
            slots: slot_rows.into_iter().map(|(_, r)| r).collect(),
            completion_percent: plan_totals.completion_percent(),
            totals: plan_totals,
        });
    }

    let shortfalls = journal
        .shortfalls(start, end, totals.unfinished > 0)?
        .into_iter()
        .filter(|r| wanted(&r.info.plan))
        .map(|r| Shortfall {
            scheduled: r
                .info
                .scheduled_at
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            plan: r.info.plan.clone(),
            slot: r.info.slot.clone(),
            title: r.info.title.clone(),
            outcome: r.outcome.map_or_else(
                || lang.pick("chưa kết thúc", "not ended").to_string(),
                |o| o.label(lang).to_string(),
            ),
            reason: r.reason.as_ref().map(|x| x.text(lang)).unwrap_or_default(),
        })
        .collect();

    let mut clips: Vec<ClipLine> = clips
        .into_values()
        .map(|mut c| {
            c.minutes = minutes(c.minutes as i64);
            c
        })
        .collect();
    clips.sort_by(|a, b| {
        a.topic
            .cmp(&b.topic)
            .then(a.clip.cmp(&b.clip))
            .then(a.sha256_prefix.cmp(&b.sha256_prefix))
    });

    let (events, head) = journal.head();
    let completion = totals.completion_percent();
    Ok(Report {
        station: station.to_string(),
        timezone: tz.to_string(),
        period: period.label(lang),
        from,
        to,
        generated_at: now,
        chain: Chain {
            events,
            head: head.to_string(),
        },
        plans: sections,
        totals,
        completion_percent: completion,
        index_score: completion.map(index_score),
        shortfalls,
        clips,
        journal_until: journal.last_activity()?,
        sent: None,
        lang,
        tz,
    })
}
