//! The province's bulletins at the centre: published (the clip checked as a station would
//! check it, stored once by its SHA-256, addressed to stations, groups or all), withdrawn
//! with a reason, listed, and shown commune by commune from what each station journaled;
//! groups of stations; and the two calls through which a station sees only its own. Every
//! step is recorded with the database login that took it. Publishing and withdrawing tell
//! listening stations at once (`NOTIFY` on [`CHANNEL`]).

use std::path::Path;

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use super::{check_schema, refused, transaction, within, CentralError, Target};
use crate::bulletin::{Bulletin, Withdrawal};
use crate::journal::Priority;

/// The channel stations listen on; the payload is the bulletin's id.
pub const CHANNEL: &str = "loaxa_bulletins";

/// How long a bulletin stays valid when its sender gives no end: a khẩn cấp one is about
/// now, and a warning aired hours late misleads.
pub fn default_window(level: Priority) -> chrono::Duration {
    match level {
        Priority::Emergency => chrono::Duration::hours(1),
        Priority::Priority => chrono::Duration::hours(24),
        Priority::Normal => chrono::Duration::days(7),
    }
}

/// A time as the province writes it, in the province's zone: `YYYY-MM-DD HH:MM` (or with a
/// `T`, as a browser's date-time field sends it), or RFC 3339 with its own offset.
pub fn province_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let local = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()?;
    crate::recurrence::local_to_utc(PROVINCE_ZONE, local)
}

/// The province's zone: bulletin times are written and shown in it.
pub const PROVINCE_ZONE: chrono_tz::Tz = chrono_tz::Asia::Ho_Chi_Minh;

/// A bulletin to publish.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    pub title: String,
    pub level: Priority,
    pub file: &'a Path,
    /// `all`, group names, station ids.
    pub to: Vec<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub at: Vec<String>,
    pub repeat: u32,
    /// The publisher's language, for what is said of the clip.
    pub lang: crate::lang::Lang,
}

/// A published bulletin: its id, to whom, and what was measured of its clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub id: i64,
    pub stations: Vec<String>,
    pub sha256: String,
    pub duration_ms: u64,
    pub loudness_lufs: Option<f64>,
    pub until: DateTime<Utc>,
}

/// Checks the clip, resolves the addressees, stores it and tells the stations.
pub async fn publish(
    t: &Target,
    client: &Client,
    d: &Draft<'_>,
    now: DateTime<Utc>,
) -> Result<Published, CentralError> {
    publish_as(t, client, d, None, now).await
}

/// [`publish`], by a named approver sending it alone (a khẩn cấp bulletin, which cannot wait
/// for a second person): recorded as such.
pub async fn publish_as(
    t: &Target,
    client: &Client,
    d: &Draft<'_>,
    approver: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Published, CentralError> {
    check_schema(t, client).await?;
    if approver.is_some_and(|a| a.trim().is_empty()) {
        return Err(CentralError::NoActor);
    }
    if approver.is_some() && d.level != Priority::Emergency {
        return Err(CentralError::AloneNotEmergency);
    }
    check_fields(d)?;
    let (from, until) = window(d.level, d.from, d.until, now)?;
    let clip = check_clip(d)?;
    let stations = addressees(t, client, &d.to).await?;
    let sent = Send {
        title: d.title.trim(),
        level: d.level,
        sha256: &clip.info.sha256,
        from,
        until,
        at: &d.at,
        repeat: d.repeat,
        addressed: &d.to,
        stations: &stations,
        drafted_by: None,
        approved_by: approver.map(str::trim),
        alone: approver.is_some(),
    };
    let stored = async {
        store_clip(t, client, &clip).await?;
        send(t, client, &sent).await
    };
    let id = transaction(t, client, stored).await?;
    Ok(Published {
        id,
        stations,
        sha256: clip.info.sha256,
        duration_ms: clip.info.duration_ms,
        loudness_lufs: clip.loudness,
        until,
    })
}

/// Saves an editor's draft: checked as a bulletin is (its clip stored), addressed, but sent
/// to no one until another person approves it ([`approve`]). Returns the draft's id.
pub async fn draft(
    t: &Target,
    client: &Client,
    d: &Draft<'_>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<i64, CentralError> {
    check_schema(t, client).await?;
    if by.trim().is_empty() {
        return Err(CentralError::NoActor);
    }
    check_fields(d)?;
    if d.from.is_some() || d.until.is_some() {
        window(d.level, d.from, d.until, now)?;
    }
    let clip = check_clip(d)?;
    addressees(t, client, &d.to).await?;
    let stored = async {
        store_clip(t, client, &clip).await?;
        let row = within(
            t,
            client.query_one(
                "INSERT INTO loaxa.bulletin_drafts (title, level, clip, valid_from, valid_until,
                     at_times, repeat, addressed, drafted_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                &[
                    &d.title.trim(),
                    &d.level.code(),
                    &clip.info.sha256,
                    &d.from,
                    &d.until,
                    &d.at,
                    &(d.repeat as i32),
                    &d.to,
                    &by.trim(),
                ],
            ),
        )
        .await?;
        Ok::<i64, CentralError>(row.get(0))
    };
    transaction(t, client, stored).await
}

/// Approves a draft and sends it: by someone other than who wrote it. Its addressees are
/// resolved now (a group may have changed since), and an open start or end is settled now.
pub async fn approve(
    t: &Target,
    client: &Client,
    draft: i64,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Published, CentralError> {
    check_schema(t, client).await?;
    let by = by.trim();
    if by.is_empty() {
        return Err(CentralError::NoActor);
    }
    let approved = async {
        let row = within(
            t,
            client.query_opt(
                "SELECT d.title, d.level, d.clip, d.valid_from, d.valid_until, d.at_times,
                        d.repeat, d.addressed, d.drafted_by, d.bulletin, c.duration_ms,
                        c.loudness_lufs
                 FROM loaxa.bulletin_drafts d JOIN loaxa.clips c ON c.sha256 = d.clip
                 WHERE d.id = $1 FOR UPDATE OF d",
                &[&draft],
            ),
        )
        .await?
        .ok_or(CentralError::NoDraft(draft))?;
        if let Some(bulletin) = row.get::<_, Option<i64>>(9) {
            return Err(CentralError::AlreadyApproved { draft, bulletin });
        }
        let drafted_by: String = row.get(8);
        if drafted_by == by {
            return Err(CentralError::SamePerson {
                draft,
                by: drafted_by,
            });
        }
        let level = Priority::parse(row.get(1)).unwrap_or_default();
        let (from, until) = window(level, row.get(3), row.get(4), now)?;
        let addressed: Vec<String> = row.get(7);
        let stations = addressees(t, client, &addressed).await?;
        let sha256: String = row.get(2);
        let at: Vec<String> = row.get(5);
        let title: String = row.get(0);
        let sent = Send {
            title: &title,
            level,
            sha256: &sha256,
            from,
            until,
            at: &at,
            repeat: row.get::<_, i32>(6).max(1) as u32,
            addressed: &addressed,
            stations: &stations,
            drafted_by: Some(&drafted_by),
            approved_by: Some(by),
            alone: false,
        };
        let id = send(t, client, &sent).await?;
        within(
            t,
            client.execute(
                "UPDATE loaxa.bulletin_drafts SET bulletin = $2, approved_by = $3,
                     approved_at = now() WHERE id = $1",
                &[&draft, &id, &by],
            ),
        )
        .await?;
        Ok::<Published, CentralError>(Published {
            id,
            stations,
            sha256,
            duration_ms: row.get::<_, i64>(10).max(0) as u64,
            loudness_lufs: row.get(11),
            until,
        })
    };
    transaction(t, client, approved).await
}

/// What a bulletin must be, whoever sends it: a title, times of day, a number of repeats.
fn check_fields(d: &Draft<'_>) -> Result<(), CentralError> {
    if d.title.trim().is_empty() {
        return Err(CentralError::NoTitle);
    }
    for at in &d.at {
        if crate::sidecar::time_of_day(at).is_none() {
            return Err(CentralError::BadTime(at.clone()));
        }
    }
    if !(1..=10).contains(&d.repeat) {
        return Err(CentralError::BadRepeat(d.repeat));
    }
    Ok(())
}

/// A bulletin's start and end: from now and for its level's window unless given; the end
/// after the start and after now.
fn window(
    level: Priority,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), CentralError> {
    let from = from.unwrap_or(now);
    let until = until.unwrap_or(from + default_window(level));
    if until <= from || until <= now {
        return Err(CentralError::BadWindow);
    }
    Ok((from, until))
}

/// A bulletin's clip, read and checked as a station would check it.
struct Clip {
    bytes: Vec<u8>,
    info: crate::library::ClipInfo,
    file_name: String,
    loudness: Option<f64>,
}

fn check_clip(d: &Draft<'_>) -> Result<Clip, CentralError> {
    let bytes = std::fs::read(d.file)
        .map_err(|e| CentralError::BadClip(format!("{}: {e}", d.file.display())))?;
    let info = crate::library::probe(d.file).map_err(|e| {
        CentralError::BadClip(format!("{}: {}", d.file.display(), e.reason(d.lang)))
    })?;
    if info.duration_ms > crate::bulletin::MAX_MINUTES * 60_000
        || bytes.len() as i64 > crate::bulletin::MAX_BYTES
    {
        return Err(CentralError::BadClip(crate::tr!(
            d.lang,
            "{}: {} phút / {} MB, quá giới hạn {} phút / {} MB",
            "{}: {} minutes / {} MB, over the {} minutes / {} MB allowed",
            d.file.display(),
            info.duration_ms / 60_000,
            bytes.len() >> 20,
            crate::bulletin::MAX_MINUTES,
            crate::bulletin::MAX_BYTES >> 20
        )));
    }
    let file_name = d.file.file_name().map_or_else(
        || "ban-tin.mp3".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let loudness = info.loudness_lufs.map(crate::library::Tenths::get);
    Ok(Clip {
        bytes,
        info,
        file_name,
        loudness,
    })
}

/// Stores a clip once, by its SHA-256 (in the caller's transaction).
async fn store_clip(t: &Target, client: &Client, clip: &Clip) -> Result<(), CentralError> {
    within(
        t,
        client.execute(
            "INSERT INTO loaxa.clips (sha256, bytes, file_name, duration_ms, loudness_lufs, peak_dbfs)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING",
            &[
                &clip.info.sha256,
                &clip.bytes,
                &clip.file_name,
                &(clip.info.duration_ms as i64),
                &clip.loudness,
                &clip.info.peak_dbfs.get(),
            ],
        ),
    )
    .await
    .map(|_| ())
}

/// A bulletin about to go out: what, to whom, and who drafted and approved it.
struct Send<'a> {
    title: &'a str,
    level: Priority,
    sha256: &'a str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    at: &'a [String],
    repeat: u32,
    addressed: &'a [String],
    stations: &'a [String],
    drafted_by: Option<&'a str>,
    approved_by: Option<&'a str>,
    /// Sent by an approver with no second person (a khẩn cấp bulletin).
    alone: bool,
}

/// Records a bulletin, its targets, and tells the stations (in the caller's transaction).
async fn send(t: &Target, client: &Client, s: &Send<'_>) -> Result<i64, CentralError> {
    let id: i64 = within(
        t,
        client.query_one(
            "INSERT INTO loaxa.bulletins (title, level, clip, valid_from, valid_until,
                 at_times, repeat, addressed, drafted_by, approved_by, sent_alone)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                &s.title,
                &s.level.code(),
                &s.sha256,
                &s.from,
                &s.until,
                &s.at,
                &(s.repeat as i32),
                &s.addressed,
                &s.drafted_by,
                &s.approved_by,
                &s.alone,
            ],
        ),
    )
    .await?
    .get(0);
    within(
        t,
        client.execute(
            "INSERT INTO loaxa.bulletin_targets (bulletin, station) SELECT $1, unnest($2::text[])",
            &[&id, &s.stations],
        ),
    )
    .await?;
    within(
        t,
        client.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &id.to_string()]),
    )
    .await?;
    Ok(id)
}

/// The stations `to` names: `all`, group names and station ids; an unknown one is refused,
/// named, before anything is sent.
async fn addressees(
    t: &Target,
    client: &Client,
    to: &[String],
) -> Result<Vec<String>, CentralError> {
    if to.is_empty() {
        return Err(CentralError::NoTarget(String::new()));
    }
    let mut out = std::collections::BTreeSet::new();
    for name in to {
        let rows = within(
            t,
            client.query(
                "SELECT id FROM loaxa.stations WHERE $1 = 'all' OR id = $1
                 UNION SELECT station FROM loaxa.groups WHERE name = $1",
                &[name],
            ),
        )
        .await?;
        if rows.is_empty() {
            return Err(CentralError::NoTarget(name.clone()));
        }
        out.extend(rows.iter().map(|r| r.get::<_, String>(0)));
    }
    Ok(out.into_iter().collect())
}

/// Withdraws a bulletin with its reason; stations remove it if it waits and cut it if it
/// is on air. `by` names the person (the province's console); else the database login is
/// recorded.
pub async fn withdraw(
    t: &Target,
    client: &Client,
    id: i64,
    reason: &str,
    by: Option<&str>,
) -> Result<(), CentralError> {
    check_schema(t, client).await?;
    if reason.trim().is_empty() {
        return Err(CentralError::NoReason);
    }
    let row = within(
        t,
        client.query_opt(
            "SELECT withdrawn_at IS NOT NULL FROM loaxa.bulletins WHERE id = $1",
            &[&id],
        ),
    )
    .await?;
    match row.map(|r| r.get::<_, bool>(0)) {
        None => return Err(CentralError::NoBulletin(id)),
        Some(true) => return Err(CentralError::AlreadyWithdrawn(id)),
        Some(false) => {}
    }
    let withdrawn = async {
        within(
            t,
            client.execute(
                "UPDATE loaxa.bulletins SET withdrawn_at = now(),
                     withdrawn_by = COALESCE($3::text, session_user::text),
                     withdraw_reason = $2 WHERE id = $1",
                &[&id, &reason.trim(), &by.map(str::trim)],
            ),
        )
        .await?;
        within(
            t,
            client.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &id.to_string()]),
        )
        .await
    };
    transaction(t, client, withdrawn).await.map(|_| ())
}

/// Adds stations to a group (made by its first member) or removes them.
pub async fn group(
    t: &Target,
    client: &Client,
    name: &str,
    stations: &[String],
    add: bool,
) -> Result<u64, CentralError> {
    check_schema(t, client).await?;
    if !super::valid_station_id(name) || name == "all" {
        return Err(CentralError::BadGroup(name.to_string()));
    }
    for id in stations {
        let known: bool = within(
            t,
            client.query_one(
                "SELECT EXISTS (SELECT 1 FROM loaxa.stations WHERE id = $1)",
                &[id],
            ),
        )
        .await?
        .get(0);
        if !known {
            return Err(CentralError::NoStation(id.clone()));
        }
    }
    let sql = if add {
        "INSERT INTO loaxa.groups (name, station) SELECT $1, unnest($2::text[])
         ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM loaxa.groups WHERE name = $1 AND station = ANY($2)"
    };
    within(t, client.execute(sql, &[&name, &stations])).await
}

/// A bulletin as listed: what, to how many, how far it got.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub id: i64,
    pub title: String,
    pub level: Priority,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub published_by: String,
    pub published_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawn_by: Option<String>,
    pub withdraw_reason: Option<String>,
    pub addressed: Vec<String>,
    pub stations: i64,
    pub received: i64,
    pub aired: i64,
}

const SUMMARY: &str = "SELECT b.id, b.title, b.level, b.valid_from, b.valid_until,
        b.published_by::text, b.published_at, b.withdrawn_at, b.withdrawn_by::text,
        b.withdraw_reason, b.addressed,
        (SELECT count(*) FROM loaxa.bulletin_targets t WHERE t.bulletin = b.id),
        (SELECT count(DISTINCT d.station) FROM loaxa.deliveries d
          WHERE d.bulletin = b.id AND d.what = 'bulletin_received'),
        (SELECT count(DISTINCT d.station) FROM loaxa.deliveries d
          WHERE d.bulletin = b.id AND d.what = 'aired')
    FROM loaxa.bulletins b";

fn summary(r: &tokio_postgres::Row) -> Summary {
    Summary {
        id: r.get(0),
        title: r.get(1),
        level: Priority::parse(r.get(2)).unwrap_or_default(),
        from: r.get(3),
        until: r.get(4),
        published_by: r.get(5),
        published_at: r.get(6),
        withdrawn_at: r.get(7),
        withdrawn_by: r.get(8),
        withdraw_reason: r.get(9),
        addressed: r.get(10),
        stations: r.get(11),
        received: r.get(12),
        aired: r.get(13),
    }
}

/// Every bulletin, newest first.
pub async fn list(t: &Target, client: &Client) -> Result<Vec<Summary>, CentralError> {
    check_schema(t, client).await?;
    let rows = within(
        t,
        client.query(&format!("{SUMMARY} ORDER BY b.id DESC"), &[]),
    )
    .await?;
    Ok(rows.iter().map(summary).collect())
}

/// A draft as listed: what, to whom, by whom, and the bulletin it became once approved.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DraftSummary {
    pub id: i64,
    pub title: String,
    pub level: Priority,
    pub addressed: Vec<String>,
    pub drafted_by: String,
    pub drafted_at: DateTime<Utc>,
    pub sha256: String,
    pub duration_ms: i64,
    pub loudness_lufs: Option<f64>,
    pub bulletin: Option<i64>,
    pub approved_by: Option<String>,
}

/// Drafts, newest first: those still waiting for approval only, or all.
pub async fn drafts(
    t: &Target,
    client: &Client,
    waiting_only: bool,
) -> Result<Vec<DraftSummary>, CentralError> {
    check_schema(t, client).await?;
    let rows = within(
        t,
        client.query(
            "SELECT d.id, d.title, d.level, d.addressed, d.drafted_by, d.drafted_at, d.clip,
                    c.duration_ms, c.loudness_lufs, d.bulletin, d.approved_by
             FROM loaxa.bulletin_drafts d JOIN loaxa.clips c ON c.sha256 = d.clip
             WHERE NOT $1 OR d.bulletin IS NULL ORDER BY d.id DESC",
            &[&waiting_only],
        ),
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| DraftSummary {
            id: r.get(0),
            title: r.get(1),
            level: Priority::parse(r.get(2)).unwrap_or_default(),
            addressed: r.get(3),
            drafted_by: r.get(4),
            drafted_at: r.get(5),
            sha256: r.get(6),
            duration_ms: r.get(7),
            loudness_lufs: r.get(8),
            bulletin: r.get(9),
            approved_by: r.get(10),
        })
        .collect())
}

/// One commune's delivery of a bulletin, from what it journaled (its own clock).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    pub station: String,
    pub name: Option<String>,
    pub last_contact: Option<DateTime<Utc>>,
    pub received_at: Option<String>,
    pub file: Option<String>,
    pub aired: Vec<Aired>,
    /// Refused, expired or withdrawn at the station: what, when, why.
    pub ended: Option<(String, String, String)>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Aired {
    pub recorded_at: String,
    pub outcome: String,
    pub played_ms: i64,
    pub duration_ms: i64,
    pub peak_dbfs: Option<f64>,
}

/// A delivery state ([`Delivery::state`], or `on_air` from the commune's heartbeat), worded:
/// one set of words for the command line and the province's console.
pub fn delivery_label(state: &str, lang: crate::lang::Lang) -> &'static str {
    match state {
        "aired" => lang.pick("đã phát đủ", "aired in full"),
        "aired_in_part" => lang.pick("đã phát một phần", "aired in part"),
        "on_air" => lang.pick("đang phát", "on air"),
        "received" => lang.pick("đã nhận, chưa phát", "received, not yet aired"),
        "refused" => lang.pick("bị đài từ chối", "refused by the station"),
        "expired" => lang.pick("hết hạn, không phát", "expired, never aired"),
        "withdrawn" => lang.pick("đã thu hồi", "withdrawn"),
        _ => lang.pick("chưa có tin", "not heard from"),
    }
}

impl Delivery {
    /// Where it stands: aired in full, on air / aired in part, refused, expired, withdrawn,
    /// received, or silent (nothing heard of it yet).
    pub fn state(&self) -> &'static str {
        if self.aired.iter().any(|a| a.outcome == "completed") {
            return "aired";
        }
        if let Some((what, _, _)) = &self.ended {
            return match what.as_str() {
                "bulletin_refused" => "refused",
                "bulletin_expired" => "expired",
                _ => "withdrawn",
            };
        }
        if !self.aired.is_empty() {
            return "aired_in_part";
        }
        if self.received_at.is_some() {
            return "received";
        }
        "silent"
    }
}

/// A bulletin with its clip's facts and its delivery commune by commune.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Detail {
    #[serde(flatten)]
    pub summary: Summary,
    pub sha256: String,
    pub duration_ms: i64,
    pub loudness_lufs: Option<f64>,
    pub deliveries: Vec<Delivery>,
}

pub async fn show(t: &Target, client: &Client, id: i64) -> Result<Detail, CentralError> {
    check_schema(t, client).await?;
    let Some(row) = within(
        t,
        client.query_opt(&format!("{SUMMARY} WHERE b.id = $1"), &[&id]),
    )
    .await?
    else {
        return Err(CentralError::NoBulletin(id));
    };
    let clip = within(
        t,
        client.query_one(
            "SELECT c.sha256, c.duration_ms, c.loudness_lufs FROM loaxa.bulletins b
             JOIN loaxa.clips c ON c.sha256 = b.clip WHERE b.id = $1",
            &[&id],
        ),
    )
    .await?;
    let targets = within(
        t,
        client.query(
            "SELECT s.id, s.name, s.contact_at FROM loaxa.bulletin_targets t
             JOIN loaxa.stations s ON s.id = t.station WHERE t.bulletin = $1 ORDER BY s.id",
            &[&id],
        ),
    )
    .await?;
    let notes = within(
        t,
        client.query(
            "SELECT station, what, recorded_at, body FROM loaxa.deliveries
             WHERE bulletin = $1 ORDER BY station, seq",
            &[&id],
        ),
    )
    .await?;
    let deliveries = targets
        .iter()
        .map(|r| {
            let station: String = r.get(0);
            let mut d = Delivery {
                station: station.clone(),
                name: r.get(1),
                last_contact: r.get(2),
                received_at: None,
                file: None,
                aired: Vec::new(),
                ended: None,
            };
            for n in notes.iter().filter(|n| n.get::<_, &str>(0) == station) {
                let what: String = n.get(1);
                let at: String = n.get(2);
                let body: serde_json::Value = n.get(3);
                let text = |k: &str| body[k].as_str().unwrap_or_default().to_string();
                match what.as_str() {
                    "bulletin_received" => {
                        d.received_at.get_or_insert(at);
                        d.file = body["file"].as_str().map(str::to_string);
                    }
                    "aired" => d.aired.push(Aired {
                        recorded_at: at,
                        outcome: text("outcome"),
                        played_ms: body["played_ms"].as_i64().unwrap_or(0),
                        duration_ms: body["duration_ms"].as_i64().unwrap_or(0),
                        peak_dbfs: body["levels"]["peak_dbfs"].as_f64(),
                    }),
                    _ => d.ended = Some((what, at, text("detail"))),
                }
            }
            d
        })
        .collect();
    Ok(Detail {
        summary: summary(&row),
        sha256: clip.get(0),
        duration_ms: clip.get(1),
        loudness_lufs: clip.get(2),
        deliveries,
    })
}

/// The bulletins addressed to `station` that are not yet over (as the station's login).
pub async fn bulletins_for(
    t: &Target,
    client: &Client,
    station: &str,
) -> Result<Vec<Bulletin>, CentralError> {
    let rows = within(
        t,
        client.query("SELECT * FROM loaxa.bulletins_for($1)", &[&station]),
    )
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        refused(r, 12)?;
        out.push(Bulletin {
            id: r.get(0),
            title: r.get(1),
            level: Priority::parse(r.get(2)).unwrap_or_default(),
            sha256: r.get(3),
            file_name: r.get(4),
            size: r.get(5),
            from: r.get(6),
            until: r.get(7),
            at: r.get(8),
            repeat: r.get::<_, i32>(9).max(1) as u32,
            withdrawn: r.get::<_, Option<DateTime<Utc>>>(10).map(|at| Withdrawal {
                at,
                reason: r.get::<_, Option<String>>(11).unwrap_or_default(),
            }),
        });
    }
    Ok(out)
}

/// A bulletin's clip, to a station it is addressed to.
pub async fn clip(
    t: &Target,
    client: &Client,
    station: &str,
    id: i64,
) -> Result<Vec<u8>, CentralError> {
    let row = within(
        t,
        client.query_one(
            "SELECT * FROM loaxa.bulletin_clip($1, $2)",
            &[&station, &id],
        ),
    )
    .await?;
    refused(&row, 1)?;
    Ok(row.get::<_, Option<Vec<u8>>>(0).unwrap_or_default())
}

/// A stored clip's bytes and file name, by its SHA-256, for the province to listen to.
pub async fn stored_clip(
    t: &Target,
    client: &Client,
    sha256: &str,
) -> Result<Option<(Vec<u8>, String)>, CentralError> {
    let row = within(
        t,
        client.query_opt(
            "SELECT bytes, file_name FROM loaxa.clips WHERE sha256 = $1",
            &[&sha256],
        ),
    )
    .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// What a station says every 30 s while connected, so the province sees which communes are
/// live.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Heartbeat {
    /// Its daemon runs (its status is fresh).
    pub live: bool,
    /// The title of what is on air.
    pub on_air: Option<String>,
    pub output_ok: bool,
    /// Journal events not yet at the centre.
    pub backlog: i64,
    /// Where its stream is heard (`[stream]`'s `StreamConfig::listen_url`), for the
    /// province's console to link to.
    pub stream: Option<String>,
}

/// Sends the station's heartbeat (as its own login).
pub async fn heartbeat(
    t: &Target,
    client: &Client,
    station: &str,
    h: &Heartbeat,
) -> Result<(), CentralError> {
    let five = "SELECT * FROM loaxa.heartbeat($1, $2, $3, $4, $5)";
    let row = match &h.stream {
        None => {
            within(
                t,
                client.query_one(
                    five,
                    &[&station, &h.live, &h.on_air, &h.output_ok, &h.backlog],
                ),
            )
            .await?
        }
        Some(url) => {
            // Within the time limit; the query's own error looked at here.
            let six = within(t, async {
                Ok(client
                    .query_one(
                        "SELECT * FROM loaxa.heartbeat($1, $2, $3, $4, $5, $6)",
                        &[&station, &h.live, &h.on_air, &h.output_ok, &h.backlog, url],
                    )
                    .await)
            })
            .await?;
            match six {
                // A centre not yet upgraded (before its migration 7) takes the heartbeat
                // without the link: the bulletins keep coming; the link shows once it is.
                Err(e)
                    if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_FUNCTION) =>
                {
                    within(
                        t,
                        client.query_one(
                            five,
                            &[&station, &h.live, &h.on_air, &h.output_ok, &h.backlog],
                        ),
                    )
                    .await?
                }
                other => other.map_err(|e| super::classify(t, &e))?,
            }
        }
    };
    refused(&row, 0)
}
