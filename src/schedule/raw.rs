//! The raw shape of a schedule file, as serde reads it: unknown keys refused, nothing checked.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    pub(super) plan: Spanned<RawPlan>,
    #[serde(default)]
    pub(super) topics: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(super) slot: Vec<Spanned<RawSlot>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlan {
    pub(super) id: Spanned<String>,
    pub(super) title: Spanned<String>,
    #[serde(default)]
    pub(super) document: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) valid_from: Option<Spanned<Value>>,
    #[serde(default)]
    pub(super) valid_until: Option<Spanned<Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSlot {
    pub(super) id: Spanned<String>,
    #[serde(default)]
    pub(super) title: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) at: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub(super) days: Option<Spanned<Value>>,
    #[serde(default)]
    pub(super) cron: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) from: Option<Spanned<Value>>,
    #[serde(default)]
    pub(super) until: Option<Spanned<Value>>,
    #[serde(default)]
    pub(super) except: Vec<Spanned<Value>>,
    #[serde(default)]
    pub(super) topic: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) priority: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) intro: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) play: Vec<Spanned<PlayItem>>,
    #[serde(default)]
    pub(super) queue: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) take: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) mode: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) times: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) outro: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) max_minutes: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) volume: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) relay: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) minutes: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) fallback: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A `play` entry: a file name, or `{ file = "…", topic = "…" }` for a clip that serves
/// another plan item than its slot.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum PlayItem {
    File(String),
    Detailed(RawClip),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClip {
    pub(super) file: String,
    #[serde(default)]
    pub(super) topic: Option<String>,
}
