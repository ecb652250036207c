//! One commune as the centre holds it: its journal's records over a span of days (folded from
//! the events it sent, as the station folds its own, filtered and paged in SQL so a year of
//! events is never read for one page), how its link has gone (its head, last contact, last
//! batch, refused calls), and its fork evidence and re-admissions.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Client;

use super::{check_schema, within, CentralError, Target};
use crate::journal::{fold, Event, Record};

/// Which records, as the station console's Log filters them. Empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub plan: Option<String>,
    pub slot: Option<String>,
    pub topic: Option<String>,
    /// An outcome code, or `unfinished`.
    pub outcome: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

/// A page of a commune's records, and how many occurrences match in all.
#[derive(Debug, Clone, Serialize)]
pub struct LogPage {
    pub total: i64,
    pub records: Vec<Record>,
}

/// The occurrences scheduled in `[from, to)` that pass the filters, a page of them in
/// schedule order, with every event of each folded into its record. The outcome filter reads
/// the occurrence's own ending (a clip's outcome is not the broadcast's).
pub async fn log(
    t: &Target,
    client: &Client,
    station: &str,
    q: &LogQuery,
) -> Result<LogPage, CentralError> {
    check_schema(t, client).await?;
    let rows = within(
        t,
        client.query(
            "WITH occ AS (
                 SELECT columns[1] AS occurrence, min((columns[2])::bigint) AS at,
                        bool_or(kind IN ('broadcast_ended', 'occurrence_missed')
                                AND columns[7] = $7) AS ended_so,
                        bool_or(kind IN ('broadcast_ended', 'occurrence_missed')) AS ended
                 FROM loaxa.events
                 WHERE station = $1 AND columns[1] IS NOT NULL
                 GROUP BY 1
                 HAVING min((columns[2])::bigint) >= $2 AND min((columns[2])::bigint) < $3
                    AND ($4::text IS NULL OR bool_or(columns[3] = $4))
                    AND ($5::text IS NULL OR bool_or(columns[4] = $5))
                    AND ($6::text IS NULL OR bool_or(columns[5] = $6))
             ),
             chosen AS (
                 SELECT occurrence, at FROM occ
                 WHERE $7::text IS NULL OR ended_so OR ($7 = 'unfinished' AND NOT ended)
             ),
             page AS (
                 SELECT occurrence FROM chosen ORDER BY at, occurrence LIMIT $8 OFFSET $9
             )
             SELECT (SELECT count(*) FROM chosen), e.seq, e.body
             FROM loaxa.events e
             WHERE e.station = $1 AND e.columns[1] IN (SELECT occurrence FROM page)
             UNION ALL SELECT (SELECT count(*) FROM chosen), NULL, NULL
             ORDER BY 2 NULLS LAST",
            &[
                &station,
                &q.from.timestamp_millis(),
                &q.to.timestamp_millis(),
                &q.plan,
                &q.slot,
                &q.topic,
                &q.outcome,
                &q.limit,
                &q.offset,
            ],
        ),
    )
    .await?;
    let total = rows.first().map_or(0, |r| r.get::<_, i64>(0));
    let mut events = Vec::new();
    for r in &rows {
        let (Some(seq), Some(body)) = (r.get::<_, Option<i64>>(1), r.get::<_, Option<String>>(2))
        else {
            continue;
        };
        let event: Event = serde_json::from_str(&body).map_err(|e| CentralError::Query {
            at: t.display.clone(),
            detail: format!("{station} event {seq}: {e}"),
        })?;
        events.push(event);
    }
    let mut records = fold(events.into_iter());
    records.sort_by_key(|r| r.info.scheduled_at);
    Ok(LogPage { total, records })
}

/// A fork kept as evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Fork {
    pub id: i64,
    pub at_seq: i64,
    pub located: bool,
    pub received_at: DateTime<Utc>,
    pub readmitted_at: Option<DateTime<Utc>>,
}

/// A re-admission: who let the station's own history stand from a fork on, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Readmission {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
    pub at_seq: i64,
    pub replaced: i64,
    pub accepted: i64,
}

/// A call the centre refused from this station.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// How a commune's link to the centre stands, and its evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Commune {
    pub station: String,
    pub name: Option<String>,
    pub added_at: DateTime<Utc>,
    /// The last event the centre holds.
    pub head_seq: i64,
    /// The station's clock at that event.
    pub recorded_at: Option<String>,
    pub contact_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    pub verified_seq: i64,
    pub verified_at: Option<DateTime<Utc>>,
    pub flagged_at: Option<DateTime<Utc>>,
    pub forks: Vec<Fork>,
    pub readmissions: Vec<Readmission>,
    /// The latest refused calls (at most 20).
    pub refused: Vec<Refused>,
}

pub async fn commune(t: &Target, client: &Client, station: &str) -> Result<Commune, CentralError> {
    check_schema(t, client).await?;
    let row = within(
        t,
        client.query_opt(
            "SELECT id, name, added_at, head_seq, recorded_at, contact_at, received_at,
                    verified_seq, verified_at, flagged_at, login::text
             FROM loaxa.stations WHERE id = $1",
            &[&station],
        ),
    )
    .await?
    .ok_or_else(|| CentralError::NoStation(station.to_string()))?;
    let login: String = row.get(10);
    let forks = within(
        t,
        client.query(
            "SELECT id, at_seq, located, received_at, readmitted_at FROM loaxa.forks
             WHERE station = $1 ORDER BY id",
            &[&station],
        ),
    )
    .await?;
    let readmissions = within(
        t,
        client.query(
            "SELECT at, coalesce(by_person, by_login::text), reason, at_seq, replaced, accepted
             FROM loaxa.readmissions WHERE station = $1 ORDER BY id",
            &[&station],
        ),
    )
    .await?;
    let refused = within(
        t,
        client.query(
            "SELECT at, reason FROM loaxa.refusals
             WHERE station = $1 OR login = $2::text::name ORDER BY id DESC LIMIT 20",
            &[&station, &login],
        ),
    )
    .await?;
    Ok(Commune {
        station: row.get(0),
        name: row.get(1),
        added_at: row.get(2),
        head_seq: row.get(3),
        recorded_at: row.get(4),
        contact_at: row.get(5),
        received_at: row.get(6),
        verified_seq: row.get(7),
        verified_at: row.get(8),
        flagged_at: row.get(9),
        forks: forks
            .iter()
            .map(|r| Fork {
                id: r.get(0),
                at_seq: r.get(1),
                located: r.get(2),
                received_at: r.get(3),
                readmitted_at: r.get(4),
            })
            .collect(),
        readmissions: readmissions
            .iter()
            .map(|r| Readmission {
                at: r.get(0),
                by: r.get(1),
                reason: r.get(2),
                at_seq: r.get(3),
                replaced: r.get(4),
                accepted: r.get(5),
            })
            .collect(),
        refused: refused
            .iter()
            .map(|r| Refused {
                at: r.get(0),
                reason: r.get(1),
            })
            .collect(),
    })
}
