//! The validated schedule: a plan, its topics and slots, each slot's times and what it airs.

use super::*;

/// Days of the week a slot airs on, as a bit set (bit 0 = Monday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days(pub(super) u8);

impl Days {
    pub const ALL: Days = Days(0b111_1111);

    pub fn contains(self, d: Weekday) -> bool {
        self.0 & (1 << d.num_days_from_monday()) != 0
    }

    fn with(self, d: Weekday) -> Days {
        Days(self.0 | (1 << d.num_days_from_monday()))
    }

    /// Parses one item: `daily`, `weekdays`, `weekends`, a day (`mon`, `t2`, `cn`) or a
    /// range (`mon-sat`, `t2-t6`).
    pub fn parse_item(s: &str) -> Option<Days> {
        let s = s.trim().to_lowercase();
        match s.as_str() {
            "daily" | "every-day" | "hang-ngay" | "hàng ngày" | "hằng ngày" => {
                return Some(Days::ALL)
            }
            "weekdays" | "ngay-thuong" => return Some(Days(0b001_1111)),
            "weekends" | "cuoi-tuan" => return Some(Days(0b110_0000)),
            _ => {}
        }
        if let Some((a, b)) = s.split_once('-') {
            let (a, b) = (weekday(a)?, weekday(b)?);
            let mut days = Days(0);
            let mut d = a;
            loop {
                days = days.with(d);
                if d == b {
                    break;
                }
                d = d.succ();
            }
            return Some(days);
        }
        weekday(&s).map(|d| Days(0).with(d))
    }
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim() {
        "mon" | "monday" | "t2" | "thu2" => Weekday::Mon,
        "tue" | "tuesday" | "t3" | "thu3" => Weekday::Tue,
        "wed" | "wednesday" | "t4" | "thu4" => Weekday::Wed,
        "thu" | "thursday" | "t5" | "thu5" => Weekday::Thu,
        "fri" | "friday" | "t6" | "thu6" => Weekday::Fri,
        "sat" | "saturday" | "t7" | "thu7" => Weekday::Sat,
        "sun" | "sunday" | "cn" | "chu-nhat" => Weekday::Sun,
        _ => return None,
    })
}

/// When a slot fires within a day.
#[derive(Debug, Clone)]
pub enum When {
    /// Times of day in the station's zone, with the days they apply on.
    Times { at: Vec<NaiveTime>, days: Days },
    /// A croner pattern (5 or 6 fields, seconds optional) for what the simple form cannot say.
    Cron { pattern: String, cron: Box<Cron> },
}

/// Something a slot plays from a fixed path (relative to the audio folder, NFC-normalised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipRef {
    pub rel: String,
    /// The plan item this clip serves, when it differs from its slot's.
    pub topic: Option<String>,
}

#[derive(Debug, Clone)]
pub struct QueueRef {
    /// Folder under the audio folder.
    pub folder: String,
    /// How many clips to take per occurrence.
    pub take: usize,
    /// How the clips take turns, when the slot says (else the folder's `queue.toml` does).
    pub mode: Option<crate::sidecar::Mode>,
}

/// What a relay slot relays, for how long, and what fills a gap in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct RelaySlot {
    pub source: crate::relay::Source,
    /// The text as the schedule wrote it (journaled and shown as is).
    pub text: String,
    /// How long it relays (`minutes`, which may have a fraction).
    pub duration_ms: u64,
    pub fallback: Vec<FallbackRef>,
    /// Set only on a relay resumed after an emergency: it relays until then, so the slot
    /// still ends on time.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

/// A clip, or every clip of a folder in name order, to air while the source is down.
#[derive(Debug, Clone, PartialEq)]
pub enum FallbackRef {
    Clip(ClipRef),
    Folder(String),
}

/// A session of the plan: when it airs and what it plays.
#[derive(Debug, Clone)]
pub struct Slot {
    pub plan: String,
    pub id: String,
    pub title: String,
    pub when: When,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub except: BTreeSet<NaiveDate>,
    pub topic: Option<String>,
    pub priority: Priority,
    pub intro: Option<ClipRef>,
    pub play: Vec<ClipRef>,
    pub queue: Option<QueueRef>,
    pub outro: Option<ClipRef>,
    pub max_minutes: Option<u32>,
    pub volume: f32,
    /// A relay slot airs its source for its minutes (between intro and outro) instead of clips.
    pub relay: Option<RelaySlot>,
    /// Position among all slots, so clashing equal-priority slots keep the operator's order.
    pub order: usize,
}

impl Slot {
    /// A slot made on the spot for something outside the schedules (`loaxa play`, an
    /// emergency file): no times of its own, just what it plays.
    pub fn ad_hoc(
        plan: &str,
        id: &str,
        title: String,
        priority: Priority,
        play: Vec<ClipRef>,
    ) -> Slot {
        Slot {
            plan: plan.into(),
            id: id.into(),
            title,
            when: When::Times {
                at: Vec::new(),
                days: Days::ALL,
            },
            from: None,
            until: None,
            except: BTreeSet::new(),
            topic: None,
            priority,
            intro: None,
            play,
            queue: None,
            outro: None,
            max_minutes: None,
            volume: 1.0,
            relay: None,
            order: 0,
        }
    }

    /// Whether the slot may air on this local date (date range, plan range, holidays).
    pub fn airs_on(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|f| date >= f)
            && self.until.is_none_or(|u| date <= u)
            && !self.except.contains(&date)
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub title: String,
    pub document: String,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    /// Plan items (section III.1 of the commune's plan): key → description.
    pub topics: BTreeMap<String, String>,
}

/// One validated schedule file.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub file: PathBuf,
    pub sha256: String,
    pub text: String,
    pub plan: Plan,
    pub slots: Vec<Slot>,
}

/// Every schedule in force.
#[derive(Debug, Clone, Default)]
pub struct Schedules {
    pub files: Vec<Schedule>,
}

impl Schedules {
    pub fn slots(&self) -> impl Iterator<Item = &Slot> + Clone {
        self.files.iter().flat_map(|f| f.slots.iter())
    }

    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.files.iter().map(|f| &f.plan).find(|p| p.id == id)
    }
}
