//! `loaxa central report`: the province's view of a period, from the rollups kept at
//! ingest (never the raw events): per commune, what was planned, aired in full, missed
//! and why, the completion ratio and the index's criterion 4.1 score; per plan item
//! across communes; which stations have not reported since a date; which are flagged.
//! The same counting as a station's own report (`crate::report`), so the two agree.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tokio_postgres::Client;

use super::{check_schema, within, CentralError, Flag, Target};
use crate::journal::{Outcome, Reason};
use crate::lang::Lang;
use crate::report::{csv_line, html_escape, index_score, nd30_head, text_table, Counts, Titles};
use crate::tr;

/// One commune's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Commune {
    pub station: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
    pub completion_percent: Option<f64>,
    pub index_score: Option<f64>,
    /// Occurrences not aired in full, by reason.
    pub shortfalls: BTreeMap<String, i64>,
    pub last_received: Option<DateTime<Utc>>,
    pub flag: Option<String>,
}

/// One plan item across communes.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub plan: String,
    pub plan_title: Option<String>,
    pub topic: String,
    pub topic_title: Option<String>,
    pub communes: i64,
    #[serde(flatten)]
    pub counts: Counts,
    pub completion_percent: Option<f64>,
}

/// A station silent since the report's cut-off date, or flagged (now, or re-admitted in
/// the period).
#[derive(Debug, Clone, Serialize)]
pub struct Attention {
    pub station: String,
    pub last_contact: Option<DateTime<Utc>>,
    /// The flag, worded.
    pub flag: Option<String>,
    /// The event its fork was found at, while flagged.
    pub fork_at: Option<i64>,
    pub forks: i64,
    /// Re-admissions in the period.
    pub readmissions: Vec<Readmitted>,
}

/// A station re-admitted after a fork: when, by whom, why, from which event.
#[derive(Debug, Clone, Serialize)]
pub struct Readmitted {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
    pub at_seq: i64,
}

/// A bulletin the province published in the period: sent to, received by, aired in full
/// by, and refused or expired at how many communes.
#[derive(Debug, Clone, Serialize)]
pub struct BulletinLine {
    pub id: i64,
    pub title: String,
    pub level: crate::journal::Priority,
    pub published_at: DateTime<Utc>,
    pub sent: i64,
    pub received: i64,
    pub aired: i64,
    pub not_aired: i64,
    pub withdrawn: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProvinceReport {
    pub period: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub timezone: String,
    pub communes: Vec<Commune>,
    pub items: Vec<Item>,
    pub totals: Counts,
    pub completion_percent: Option<f64>,
    pub silent_since: NaiveDate,
    pub silent: Vec<Attention>,
    pub flagged: Vec<Attention>,
    pub bulletins: Vec<BulletinLine>,
    #[serde(skip)]
    pub lang: Lang,
}

/// Builds the report for the months `from`..=`to` (first days), for `stations` (all if empty).
pub async fn build(
    t: &Target,
    client: &Client,
    (from, to): (NaiveDate, NaiveDate),
    period: String,
    stations: &[String],
    silent_since: NaiveDate,
    lang: Lang,
) -> Result<ProvinceReport, CentralError> {
    check_schema(t, client).await?;
    let end = to.checked_add_months(chrono::Months::new(1)).unwrap_or(to);
    let known = within(
        t,
        client.query(
            "SELECT s.id, s.name, s.received_at, s.contact_at, s.flag,
                    (SELECT count(*) FROM loaxa.forks f WHERE f.station = s.id),
                    s.fork_seq,
                    (SELECT f.located FROM loaxa.forks f
                      WHERE f.station = s.id AND f.readmitted_at IS NULL
                      ORDER BY f.id DESC LIMIT 1)
             FROM loaxa.stations s
             WHERE cardinality($1::text[]) = 0 OR s.id = ANY($1) ORDER BY s.id",
            &[&stations],
        ),
    )
    .await?;
    for wanted in stations {
        if !known.iter().any(|r| r.get::<_, String>(0) == *wanted) {
            return Err(CentralError::NoStation(wanted.clone()));
        }
    }
    let timezone: String = within(
        t,
        client.query_one(
            "SELECT value FROM loaxa.settings WHERE key = 'timezone'",
            &[],
        ),
    )
    .await?
    .get(0);
    let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::Asia::Ho_Chi_Minh);
    let instant = |d: NaiveDate| {
        crate::recurrence::local_to_utc(tz, d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .unwrap_or_default()
    };
    let mut readmitted: BTreeMap<String, Vec<Readmitted>> = BTreeMap::new();
    for r in within(
        t,
        client.query(
            "SELECT station, at, coalesce(by_person, by_login::text), reason, at_seq FROM loaxa.readmissions
             WHERE at >= $1 AND at < $2 ORDER BY at",
            &[&instant(from), &instant(end)],
        ),
    )
    .await?
    {
        readmitted.entry(r.get(0)).or_default().push(Readmitted {
            at: r.get(1),
            by: r.get(2),
            reason: r.get(3),
            at_seq: r.get(4),
        });
    }
    let mut bulletins = Vec::new();
    for r in within(
        t,
        client.query(
            "SELECT b.id, b.title, b.level, b.published_at,
                    (SELECT count(*) FROM loaxa.bulletin_targets x WHERE x.bulletin = b.id
                       AND (cardinality($3::text[]) = 0 OR x.station = ANY($3))),
                    (SELECT count(DISTINCT d.station) FROM loaxa.deliveries d WHERE d.bulletin = b.id
                       AND d.what = 'bulletin_received'
                       AND (cardinality($3::text[]) = 0 OR d.station = ANY($3))),
                    (SELECT count(DISTINCT d.station) FROM loaxa.deliveries d WHERE d.bulletin = b.id
                       AND d.what = 'aired' AND d.body ->> 'outcome' = 'completed'
                       AND (cardinality($3::text[]) = 0 OR d.station = ANY($3))),
                    (SELECT count(DISTINCT d.station) FROM loaxa.deliveries d WHERE d.bulletin = b.id
                       AND d.what IN ('bulletin_refused', 'bulletin_expired')
                       AND (cardinality($3::text[]) = 0 OR d.station = ANY($3))),
                    b.withdrawn_at IS NOT NULL
             FROM loaxa.bulletins b WHERE b.published_at >= $1 AND b.published_at < $2
             ORDER BY b.id",
            &[&instant(from), &instant(end), &stations],
        ),
    )
    .await?
    {
        bulletins.push(BulletinLine {
            id: r.get(0),
            title: r.get(1),
            level: crate::journal::Priority::parse(r.get(2)).unwrap_or_default(),
            published_at: r.get(3),
            sent: r.get(4),
            received: r.get(5),
            aired: r.get(6),
            not_aired: r.get(7),
            withdrawn: r.get(8),
        });
    }
    let schedules = within(
        t,
        client.query(
            "SELECT file, content FROM loaxa.schedules
             WHERE cardinality($1::text[]) = 0 OR station = ANY($1) ORDER BY first_seq",
            &[&stations],
        ),
    )
    .await?;
    let titles = Titles::from_schedules(
        schedules
            .iter()
            .map(|r| (r.get::<_, &str>(0), r.get::<_, &str>(1))),
        lang,
    );
    let rows = within(
        t,
        client.query(
            "SELECT station, plan, topic, kind, outcome, reason, sum(n)::bigint
             FROM loaxa.rollup
             WHERE month >= $1 AND month < $2 AND (cardinality($3::text[]) = 0 OR station = ANY($3))
             GROUP BY 1, 2, 3, 4, 5, 6",
            &[&from, &end, &stations],
        ),
    )
    .await?;

    // Per station and plan item: started, ended by outcome, missed (as the station counts).
    type Key = (String, String, String);
    let mut started: BTreeMap<Key, i64> = BTreeMap::new();
    let mut ended: BTreeMap<(Key, Outcome), i64> = BTreeMap::new();
    let mut reasons: BTreeMap<(String, String), i64> = BTreeMap::new();
    for r in &rows {
        let key: Key = (r.get(0), r.get(1), r.get(2));
        let kind: &str = r.get(3);
        let outcome = Outcome::parse(r.get(4));
        let reason: &str = r.get(5);
        let n: i64 = r.get(6);
        if kind == "broadcast_started" {
            *started.entry(key).or_default() += n;
            continue;
        }
        let Some(outcome) = outcome else { continue };
        if kind == "broadcast_ended" {
            *started.entry(key.clone()).or_default() -= n;
        }
        if outcome != Outcome::Completed {
            *reasons
                .entry((key.0.clone(), reason_label(reason, lang)))
                .or_default() += n;
        }
        *ended.entry((key, outcome)).or_default() += n;
    }
    let mut per_station: BTreeMap<String, Counts> = BTreeMap::new();
    let mut per_item: BTreeMap<(String, String), (Counts, std::collections::BTreeSet<String>)> =
        BTreeMap::new();
    let mut totals = Counts::default();
    let mut add = |key: &Key, outcome: Option<Outcome>, n: i64| {
        per_station
            .entry(key.0.clone())
            .or_default()
            .add(outcome, n);
        let item = per_item.entry((key.1.clone(), key.2.clone())).or_default();
        item.0.add(outcome, n);
        item.1.insert(key.0.clone());
        totals.add(outcome, n);
    };
    for ((key, outcome), n) in &ended {
        add(key, Some(*outcome), *n);
    }
    for (key, n) in started.iter().filter(|(_, n)| **n > 0) {
        add(key, None, *n);
    }

    let no_topic = lang.pick("(không ghi chủ đề)", "(no topic)");
    let mut communes = Vec::new();
    let (mut silent, mut flagged) = (Vec::new(), Vec::new());
    let cutoff = silent_since
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or_default();
    for r in &known {
        let station: String = r.get(0);
        let counts = per_station.get(&station).copied().unwrap_or_default();
        let percent = counts.completion_percent();
        let contact: Option<DateTime<Utc>> = r.get(3);
        let forks: i64 = r.get(5);
        let fork = r.get::<_, Option<String>>(4).map(|_| Flag {
            at: r.get(6),
            located: r.get::<_, Option<bool>>(7).unwrap_or(false),
        });
        let flag = fork.map(|f| f.text(lang));
        let readmissions = readmitted.remove(&station).unwrap_or_default();
        let attention = Attention {
            station: station.clone(),
            last_contact: contact,
            flag: flag.clone(),
            fork_at: fork.and_then(|f| f.at),
            forks,
            readmissions,
        };
        if contact.is_none_or(|c| c < cutoff) {
            silent.push(attention.clone());
        }
        if fork.is_some() || !attention.readmissions.is_empty() {
            flagged.push(attention);
        }
        communes.push(Commune {
            shortfalls: reasons
                .iter()
                .filter(|((s, _), _)| *s == station)
                .map(|((_, why), n)| (why.clone(), *n))
                .collect(),
            station,
            name: r.get(1),
            counts,
            completion_percent: percent,
            index_score: percent.map(index_score),
            last_received: r.get(2),
            flag,
        });
    }
    let items = per_item
        .into_iter()
        .map(|((plan, topic), (counts, communes))| Item {
            plan_title: titles.plan(&plan).map(str::to_string),
            topic_title: titles.topic(&plan, &topic).map(str::to_string),
            plan,
            topic: if topic.is_empty() {
                no_topic.to_string()
            } else {
                topic
            },
            communes: communes.len() as i64,
            completion_percent: counts.completion_percent(),
            counts,
        })
        .collect();
    Ok(ProvinceReport {
        period,
        from,
        to: end.pred_opt().unwrap_or(end),
        timezone,
        communes,
        items,
        completion_percent: totals.completion_percent(),
        totals,
        silent_since,
        silent,
        flagged,
        bulletins,
        lang,
    })
}

/// A reason code worded for the reader (its details are in the station's own report).
fn reason_label(code: &str, lang: Lang) -> String {
    if code.is_empty() {
        return lang.pick("(không ghi lý do)", "(no reason given)").into();
    }
    Reason::label_of(code, lang).map_or_else(|| code.replace('_', " "), str::to_string)
}

/// A table of the report: its heading, its columns, its rows.
type Table = (String, Vec<&'static str>, Vec<Vec<String>>);

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.decimals$}"))
}

impl ProvinceReport {
    fn l(&self, vi: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(vi, en)
    }

    pub fn title(&self) -> String {
        format!(
            "{} {}",
            self.l(
                "Kết quả thực hiện kế hoạch tuyên truyền trên hệ thống truyền thanh cấp xã",
                "Communication plan results across the communes' radio stations"
            ),
            self.period
        )
    }

    /// The report's tables: a heading, the columns, the rows.
    fn tables(&self) -> Vec<Table> {
        let tz: chrono_tz::Tz = self
            .timezone
            .parse()
            .unwrap_or(chrono_tz::Asia::Ho_Chi_Minh);
        let when = |t: Option<DateTime<Utc>>| {
            t.map_or("–".into(), |t| {
                t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
            })
        };
        let communes = self
            .communes
            .iter()
            .map(|c| {
                vec![
                    c.station.clone(),
                    c.name.clone().unwrap_or_default(),
                    c.counts.planned.to_string(),
                    c.counts.completed.to_string(),
                    (c.counts.planned - c.counts.completed).to_string(),
                    c.counts.missed.to_string(),
                    num(c.completion_percent, 1),
                    num(c.index_score, 3),
                    c.shortfalls
                        .iter()
                        .map(|(why, n)| format!("{why}: {n}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                    when(c.last_received),
                    c.flag.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let items = self
            .items
            .iter()
            .map(|i| {
                let titled = |code: &str, title: &Option<String>| match title {
                    Some(t) => format!("{code} — {t}"),
                    None => code.to_string(),
                };
                vec![
                    titled(&i.plan, &i.plan_title),
                    titled(&i.topic, &i.topic_title),
                    i.communes.to_string(),
                    i.counts.planned.to_string(),
                    i.counts.completed.to_string(),
                    (i.counts.planned - i.counts.completed).to_string(),
                    num(i.completion_percent, 1),
                ]
            })
            .collect();
        let attention = |list: &[Attention]| {
            list.iter()
                .map(|a| {
                    vec![
                        a.station.clone(),
                        when(a.last_contact),
                        a.flag.clone().unwrap_or_default(),
                        a.forks.to_string(),
                        a.readmissions
                            .iter()
                            .map(|r| {
                                tr!(
                                    self.lang,
                                    "{}: {} cho gửi lại từ sự kiện {} ({})",
                                    "{}: re-admitted by {} from event {} ({})",
                                    when(Some(r.at)),
                                    r.by,
                                    r.at_seq,
                                    r.reason
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                    ]
                })
                .collect()
        };
        let att_cols = vec![
            self.l("Đài", "Station"),
            self.l("Liên lạc lần cuối", "Last contact"),
            self.l("Cảnh báo", "Flag"),
            self.l("Số lần rẽ nhánh", "Forks"),
            self.l("Cho gửi lại trong kỳ", "Re-admitted in the period"),
        ];
        vec![
            (
                self.l("1. Theo xã", "1. By commune").into(),
                vec![
                    self.l("Đài", "Station"),
                    self.l("Tên", "Name"),
                    self.l("Buổi theo kế hoạch", "Planned"),
                    self.l("Phát đủ", "Aired in full"),
                    self.l("Không đủ", "Not in full"),
                    self.l("Trong đó bỏ lỡ", "Of which missed"),
                    self.l("Tỷ lệ %", "Completion %"),
                    self.l("Điểm 4.1", "Score 4.1"),
                    self.l("Lý do", "Reasons"),
                    self.l("Nhận lần cuối", "Last received"),
                    self.l("Cảnh báo", "Flag"),
                ],
                communes,
            ),
            (
                self.l(
                    "2. Theo nội dung kế hoạch, mọi xã",
                    "2. By plan item, across communes",
                )
                .into(),
                vec![
                    self.l("Kế hoạch", "Plan"),
                    self.l("Nội dung", "Item"),
                    self.l("Số xã", "Communes"),
                    self.l("Buổi theo kế hoạch", "Planned"),
                    self.l("Phát đủ", "Aired in full"),
                    self.l("Không đủ", "Not in full"),
                    self.l("Tỷ lệ %", "Completion %"),
                ],
                items,
            ),
            (
                format!(
                    "{} {}",
                    self.l("3. Đài chưa gửi số liệu từ", "3. Stations silent since"),
                    self.silent_since
                ),
                att_cols.clone(),
                attention(&self.silent),
            ),
            (
                self.l(
                    "4. Đài bị cảnh báo hoặc được cho gửi lại",
                    "4. Stations flagged, or re-admitted",
                )
                .into(),
                att_cols,
                attention(&self.flagged),
            ),
            (
                self.l(
                    "5. Bản tin tỉnh gửi xuống trong kỳ",
                    "5. Bulletins the province sent in the period",
                )
                .into(),
                vec![
                    self.l("Số", "Id"),
                    self.l("Tiêu đề", "Title"),
                    self.l("Mức", "Level"),
                    self.l("Gửi lúc", "Published"),
                    self.l("Số xã nhận gửi", "Sent to"),
                    self.l("Đã nhận", "Received"),
                    self.l("Đã phát đủ", "Aired in full"),
                    self.l("Từ chối / hết hạn", "Refused / expired"),
                    self.l("Thu hồi", "Withdrawn"),
                ],
                self.bulletins
                    .iter()
                    .map(|b| {
                        vec![
                            b.id.to_string(),
                            b.title.clone(),
                            b.level.label(self.lang).to_string(),
                            when(Some(b.published_at)),
                            b.sent.to_string(),
                            b.received.to_string(),
                            b.aired.to_string(),
                            b.not_aired.to_string(),
                            if b.withdrawn {
                                self.l("có", "yes").to_string()
                            } else {
                                String::new()
                            },
                        ]
                    })
                    .collect(),
            ),
        ]
    }

    pub fn to_text(&self) -> String {
        let mut o = format!("{}\n", self.title());
        o += &format!(
            "{}: {} – {} ({})\n",
            self.l("Kỳ báo cáo", "Period"),
            self.from,
            self.to,
            self.timezone
        );
        o += &format!(
            "{}: {} {}, {} {}, {} {}\n",
            self.l("Toàn tỉnh", "Province"),
            self.totals.planned,
            self.l("buổi theo kế hoạch", "planned"),
            self.totals.completed,
            self.l("phát đủ", "aired in full"),
            num(self.completion_percent, 1),
            "%"
        );
        for (heading, cols, rows) in self.tables() {
            o += &format!("\n{heading}\n");
            if rows.is_empty() {
                o += self.l("(không có)\n", "(none)\n");
            } else {
                o += &text_table(&cols, &rows);
            }
        }
        o
    }

    pub fn to_csv(&self) -> String {
        let mut o = String::new();
        for (heading, cols, rows) in self.tables() {
            csv_line(&mut o, &[heading]);
            csv_line(&mut o, &cols);
            for r in rows {
                csv_line(&mut o, &r);
            }
            o.push('\n');
        }
        o
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn to_html(&self) -> String {
        let e = html_escape;
        let mut o = String::new();
        nd30_head(
            &mut o,
            self.lang,
            self.l("UBND TỈNH", "PROVINCIAL PEOPLE'S COMMITTEE"),
            &self.title(),
        );
        o += &format!("<h1>{}</h1>\n", e(&self.title()));
        o += &format!(
            "<p class=\"center meta\">{}: {} – {} ({})</p>\n",
            e(self.l("Kỳ báo cáo", "Period")),
            self.from.format("%d/%m/%Y"),
            self.to.format("%d/%m/%Y"),
            e(&self.timezone)
        );
        o += &format!(
            "<p class=\"score\">{}: {} / {} ({} %)</p>\n",
            e(self.l(
                "Toàn tỉnh: buổi phát đủ / buổi theo kế hoạch",
                "Province: aired in full / planned"
            )),
            self.totals.completed,
            self.totals.planned,
            num(self.completion_percent, 1)
        );
        for (heading, cols, rows) in self.tables() {
            o += &format!("<h2>{}</h2>\n", e(&heading));
            if rows.is_empty() {
                o += &format!("<p>{}</p>\n", e(self.l("(không có)", "(none)")));
                continue;
            }
            o += "<table><tr>";
            for c in cols {
                o += &format!("<th>{}</th>", e(c));
            }
            o += "</tr>\n";
            for r in rows {
                o += "<tr>";
                for c in r {
                    let class = if c.parse::<f64>().is_ok() {
                        " class=\"n\""
                    } else {
                        ""
                    };
                    o += &format!("<td{class}>{}</td>", e(&c));
                }
                o += "</tr>\n";
            }
            o += "</table>\n";
        }
        o += "</body></html>\n";
        o
    }

    pub fn to_xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::{Format, Workbook};
        let mut wb = Workbook::new();
        let bold = Format::new().set_bold();
        for (i, (heading, cols, rows)) in self.tables().into_iter().enumerate() {
            let ws = wb.add_worksheet().set_name(format!("{}", i + 1))?;
            ws.write_string_with_format(0, 0, &heading, &bold)?;
            for (c, name) in cols.iter().enumerate() {
                ws.write_string_with_format(2, c as u16, *name, &bold)?;
            }
            for (r, row) in rows.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    // Figures are numbers a spreadsheet sums.
                    match cell.parse::<f64>() {
                        Ok(v) => ws.write_number(r as u32 + 3, c as u16, v)?,
                        Err(_) => ws.write_string(r as u32 + 3, c as u16, cell)?,
                    };
                }
            }
        }
        wb.save_to_buffer()
    }
}

impl crate::report::Formats for ProvinceReport {
    fn to_text(&self) -> String {
        ProvinceReport::to_text(self)
    }
    fn to_csv(&self) -> String {
        ProvinceReport::to_csv(self)
    }
    fn to_json(&self) -> String {
        ProvinceReport::to_json(self)
    }
    fn to_html(&self) -> String {
        ProvinceReport::to_html(self)
    }
    fn to_xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        ProvinceReport::to_xlsx(self)
    }
}
