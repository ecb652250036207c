//! What the province sees of each commune now: when it was last heard from, its last
//! heartbeat (whether its daemon runs, what is on air, whether the output is up, how many
//! events wait to be sent), whether it is flagged, and this month's completion and criterion
//! 4.1 score. One rule says what state a commune is in, for `loaxa central stations` and the
//! province console's Communes page alike.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use tokio_postgres::Client;

use super::{check_schema, within, CentralError, Target};
use crate::lang::Lang;
use crate::tr;

/// A heartbeat older than this (three of the 30 s a listening sync keeps) no longer says
/// the commune is live.
pub const HEARTBEAT_STALE_SECONDS: i64 = 90;

/// The last heartbeat a station's sync sent.
#[derive(Debug, Clone, Serialize)]
pub struct Beat {
    pub at: DateTime<Utc>,
    /// Its daemon runs.
    pub live: bool,
    pub on_air: Option<String>,
    pub output_ok: bool,
    pub backlog: i64,
    /// Where its stream is heard, as its station says (a web address, checked by the centre).
    pub stream_url: Option<String>,
}

/// The state a commune is in, by its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Condition {
    /// Something is on air (its title).
    OnAir { title: String },
    /// Live, its output up, nothing on air.
    Live,
    /// Live, but its sound output is down.
    OutputDown,
    /// Its sync answers but its daemon does not run: nothing airs.
    DaemonDown,
    /// No fresh heartbeat: last heard from then (never, if `None`).
    Silent { since: Option<DateTime<Utc>> },
}

impl Condition {
    /// The one rule: what a heartbeat (as of `now`) says of a commune last heard from at
    /// `contact`.
    pub fn of(beat: Option<&Beat>, contact: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        let fresh = beat.filter(|b| (now - b.at).num_seconds() <= HEARTBEAT_STALE_SECONDS);
        match fresh {
            None => Condition::Silent { since: contact },
            Some(b) if !b.live => Condition::DaemonDown,
            Some(b) if !b.output_ok => Condition::OutputDown,
            Some(Beat {
                on_air: Some(title),
                ..
            }) => Condition::OnAir {
                title: title.clone(),
            },
            Some(_) => Condition::Live,
        }
    }

    /// Its code, as the JSON says it (`on_air`, `live`, `output_down`, `daemon_down`,
    /// `silent`).
    pub fn code(&self) -> &'static str {
        match self {
            Condition::OnAir { .. } => "on_air",
            Condition::Live => "live",
            Condition::OutputDown => "output_down",
            Condition::DaemonDown => "daemon_down",
            Condition::Silent { .. } => "silent",
        }
    }

    pub fn text(&self, lang: Lang, zone: chrono_tz::Tz) -> String {
        match self {
            Condition::OnAir { title } => tr!(lang, "đang phát: {title}", "on air: {title}"),
            Condition::Live => lang.pick("đang chạy", "live").into(),
            Condition::OutputDown => lang.pick("mất đầu ra âm thanh", "sound output down").into(),
            Condition::DaemonDown => lang
                .pick(
                    "loaxa không chạy: không phát gì",
                    "loaxa not running: nothing airs",
                )
                .into(),
            Condition::Silent { since: Some(at) } => {
                let at = at.with_timezone(&zone).format("%Y-%m-%d %H:%M");
                tr!(lang, "im lặng từ {at}", "silent since {at}")
            }
            Condition::Silent { since: None } => lang
                .pick("chưa liên lạc lần nào", "never heard from")
                .into(),
        }
    }
}

/// One commune as the province sees it now.
#[derive(Debug, Clone, Serialize)]
pub struct StationState {
    pub station: String,
    pub name: Option<String>,
    pub condition: Condition,
    /// Its last contact of any kind (a heartbeat, a batch, a look for bulletins).
    pub contact_at: Option<DateTime<Utc>>,
    pub heartbeat: Option<Beat>,
    /// Its flag, worded, while flagged.
    pub flag: Option<String>,
    /// This month so far (the province's calendar).
    pub completion_percent: Option<f64>,
    pub index_score: Option<f64>,
    /// Where it is (latitude, longitude), if the province said.
    pub location: Option<(f64, f64)>,
}

/// Every station, by id, as of `now`.
pub async fn list(
    t: &Target,
    client: &Client,
    now: DateTime<Utc>,
    lang: Lang,
) -> Result<Vec<StationState>, CentralError> {
    list_of(t, client, now, lang, &[]).await
}

/// These stations (every one if none is named), by id, as of `now`.
pub async fn list_of(
    t: &Target,
    client: &Client,
    now: DateTime<Utc>,
    lang: Lang,
    only: &[String],
) -> Result<Vec<StationState>, CentralError> {
    check_schema(t, client).await?;
    let rows = within(
        t,
        client.query(
            "SELECT s.id, s.contact_at, h.at, h.live, h.on_air, h.output_ok, h.backlog, s.name,
                    s.latitude, s.longitude, h.stream_url
             FROM loaxa.stations s LEFT JOIN loaxa.heartbeats h ON h.station = s.id
             WHERE cardinality($1::text[]) = 0 OR s.id = ANY($1)
             ORDER BY s.id",
            &[&only],
        ),
    )
    .await?;
    let zone = chrono_tz::Asia::Ho_Chi_Minh;
    let today = now.with_timezone(&zone).date_naive();
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let label = crate::report::Period::Month {
        year: first.year(),
        month: first.month(),
    }
    .label(lang);
    let month = super::report::build(t, client, (first, first), label, only, first, lang).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let station: String = r.get(0);
            let contact_at: Option<DateTime<Utc>> = r.get(1);
            let heartbeat = r.get::<_, Option<DateTime<Utc>>>(2).map(|at| Beat {
                at,
                live: r.get(3),
                on_air: r.get(4),
                output_ok: r.get(5),
                backlog: r.get(6),
                stream_url: r.get(10),
            });
            let seen = month.communes.iter().find(|c| c.station == station);
            StationState {
                condition: Condition::of(heartbeat.as_ref(), contact_at, now),
                name: r.get(7),
                location: r.get::<_, Option<f64>>(8).zip(r.get::<_, Option<f64>>(9)),
                flag: seen.and_then(|c| c.flag.clone()),
                completion_percent: seen.and_then(|c| c.completion_percent),
                index_score: seen.and_then(|c| c.index_score),
                station,
                contact_at,
                heartbeat,
            }
        })
        .collect())
}

/// The list as a table for a terminal.
pub fn to_text(states: &[StationState], lang: Lang) -> String {
    let zone = chrono_tz::Asia::Ho_Chi_Minh;
    let percent = |p: Option<f64>| p.map_or_else(|| "—".to_string(), |p| format!("{p:.1}"));
    let rows: Vec<Vec<String>> = states
        .iter()
        .map(|s| {
            vec![
                s.station.clone(),
                s.name.clone().unwrap_or_default(),
                s.condition.text(lang, zone),
                s.heartbeat
                    .as_ref()
                    .map_or_else(|| "—".to_string(), |b| b.backlog.to_string()),
                percent(s.completion_percent),
                percent(s.index_score),
                s.flag.clone().unwrap_or_default(),
            ]
        })
        .collect();
    crate::report::text_table(
        &[
            lang.pick("Đài", "Station"),
            lang.pick("Tên", "Name"),
            lang.pick("Tình trạng", "State"),
            lang.pick("Chưa gửi", "Unsent"),
            lang.pick("Hoàn thành tháng %", "Month done %"),
            lang.pick("Điểm 4.1", "Score 4.1"),
            lang.pick("Cảnh báo", "Flag"),
        ],
        &rows,
    )
}

/// The groups stations belong to: (group, station), by group then station.
pub async fn groups(t: &Target, client: &Client) -> Result<Vec<(String, String)>, CentralError> {
    let rows = within(
        t,
        client.query(
            "SELECT name, station FROM loaxa.groups ORDER BY name, station",
            &[],
        ),
    )
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// What each commune with a fresh heartbeat has on air now: (station, title).
pub async fn on_air(
    t: &Target,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>, CentralError> {
    let rows = within(
        t,
        client.query(
            "SELECT station, on_air FROM loaxa.heartbeats
             WHERE on_air IS NOT NULL AND live AND at >= $1",
            &[&(now - chrono::Duration::seconds(HEARTBEAT_STALE_SECONDS))],
        ),
    )
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Every station's id and name (empty when it has none), by id.
pub async fn names(t: &Target, client: &Client) -> Result<Vec<(String, String)>, CentralError> {
    let rows = within(
        t,
        client.query(
            "SELECT id, coalesce(name, '') FROM loaxa.stations ORDER BY id",
            &[],
        ),
    )
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// A place as the province writes it: `LATITUDE,LONGITUDE` in decimal degrees
/// (`19.8067,105.7852`).
pub fn parse_location(s: &str) -> Option<(f64, f64)> {
    let (a, b) = s.split_once(',')?;
    let (lat, lon): (f64, f64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

/// Says where a commune is, for the map.
pub async fn locate(
    t: &Target,
    client: &Client,
    station: &str,
    (lat, lon): (f64, f64),
) -> Result<(), CentralError> {
    check_schema(t, client).await?;
    let n = within(
        t,
        client.execute(
            "UPDATE loaxa.stations SET latitude = $2, longitude = $3 WHERE id = $1",
            &[&station, &lat, &lon],
        ),
    )
    .await?;
    if n == 0 {
        return Err(CentralError::NoStation(station.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_two_decimal_degrees_within_range() {
        assert_eq!(
            parse_location("19.8067, 105.7852"),
            Some((19.8067, 105.7852))
        );
        for bad in ["", "19.8", "91,10", "10,181", "a,b", "19.8;105.7"] {
            assert_eq!(parse_location(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_commune_s_state_follows_its_last_heartbeat_and_goes_silent_when_it_stops() {
        let now = Utc::now();
        let beat = |secs: i64, live: bool, output_ok: bool, on_air: Option<&str>| Beat {
            at: now - chrono::Duration::seconds(secs),
            live,
            on_air: on_air.map(str::to_string),
            output_ok,
            backlog: 0,
            stream_url: None,
        };
        let contact = Some(now - chrono::Duration::seconds(200));
        let of = |b: Beat| Condition::of(Some(&b), contact, now);
        assert_eq!(of(beat(10, true, true, None)), Condition::Live);
        assert_eq!(
            of(beat(10, true, true, Some("Tin sáng"))),
            Condition::OnAir {
                title: "Tin sáng".into()
            }
        );
        assert_eq!(of(beat(10, true, false, Some("x"))), Condition::OutputDown);
        assert_eq!(of(beat(10, false, true, None)), Condition::DaemonDown);
        assert_eq!(
            of(beat(HEARTBEAT_STALE_SECONDS + 1, true, true, None)),
            Condition::Silent { since: contact }
        );
        assert_eq!(
            Condition::of(None, None, now),
            Condition::Silent { since: None }
        );
        let zone = chrono_tz::Asia::Ho_Chi_Minh;
        assert_eq!(
            Condition::Silent { since: None }.text(Lang::Vi, zone),
            "chưa liên lạc lần nào"
        );
    }
}
