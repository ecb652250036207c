//! What the console's pages and its JSON API show, gathered once for both: the station as the
//! daemon publishes it (`status.json`, `library.json`) or, with no daemon running, as the
//! planning function computes it; the journal read-only. Also the compiled-in templates'
//! shared frame, the static assets, and the Health page's chain verification run.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::Path as UrlPath;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{App, Refusal, Visitor};
use crate::journal::Journal;
use crate::lang::Lang;
use crate::station::{Schedules, Station};

/// Picks the visitor's language in templates: `{{ l.t("Đang phát", "On air") }}`.
#[derive(Clone, Copy)]
pub(crate) struct L(pub(crate) Lang);

impl L {
    pub(crate) fn t<'a>(&self, vi: &'a str, en: &'a str) -> &'a str {
        self.0.pick(vi, en)
    }
    pub(crate) fn code(&self) -> &'static str {
        self.0.pick("vi", "en")
    }
}

/// The frame every page shares: navigation, who is logged in, the CSRF token for forms. The
/// province's console fills it with its own title and links.
pub(crate) struct Chrome {
    pub(crate) l: L,
    pub(crate) station: String,
    pub(crate) page: &'static str,
    pub(crate) user: String,
    pub(crate) role: String,
    pub(crate) csrf: String,
    pub(crate) can_change: bool,
    pub(crate) logged_in: bool,
    /// The navigation: (path, page id, label).
    pub(crate) links: Vec<(&'static str, &'static str, &'static str)>,
}

impl Chrome {
    pub(crate) fn new(app: &App, v: &Visitor, page: &'static str) -> Chrome {
        let l = L(v.lang);
        Chrome {
            l,
            station: app.config.station_name.clone(),
            page,
            user: v.user(),
            role: v
                .session
                .as_ref()
                .map(|s| match s.role {
                    crate::web::Role::Operator => v.lang.pick("vận hành", "operator"),
                    crate::web::Role::Viewer => v.lang.pick("chỉ xem", "viewer"),
                })
                .unwrap_or_default()
                .to_string(),
            csrf: v.csrf(),
            can_change: v.can_change(),
            logged_in: v.session.is_some(),
            links: vec![
                ("/", "now", l.t("Đang phát", "Now")),
                ("/timetable", "timetable", l.t("Lịch phát", "Timetable")),
                ("/library", "library", l.t("Thư viện", "Library")),
                ("/record", "record", l.t("Ghi âm", "Record")),
                ("/emergency", "emergency", l.t("Khẩn cấp", "Emergency")),
                ("/log", "log", l.t("Nhật ký", "Log")),
                ("/report", "report", l.t("Báo cáo", "Report")),
                ("/health", "health", l.t("Kiểm tra", "Health")),
            ],
        }
    }

    /// The navigation: (path, label, whether this page).
    pub(crate) fn nav(&self) -> Vec<(&'static str, &'static str, bool)> {
        self.links
            .iter()
            .map(|&(path, id, label)| (path, label, id == self.page))
            .collect()
    }
}

/// The login page of either console: its heading, and what to do while no account exists.
#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    pub(crate) c: Chrome,
    pub(crate) heading: &'static str,
    pub(crate) error: Option<String>,
    pub(crate) no_accounts: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    text: &'a str,
}

/// A bare page saying why a request was refused.
pub(crate) fn message_page(text: &str) -> Html<String> {
    Html(
        MessagePage { text }
            .render()
            .unwrap_or_else(|_| text.to_string()),
    )
}

/// Renders a template, or says it could not.
pub(crate) fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(s) => Html(s).into_response(),
        Err(e) => Refusal::Failed(e.to_string()).into_response(),
    }
}

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");
const LIVE_WORKLET: &str = include_str!("assets/live-worklet.js");
/// Fonts that have every Vietnamese letter with its tone marks, whatever fonts the station
/// PC has (a Debian with only DejaVu puts the marks beside the letters): Noto Sans and Noto
/// Sans Mono, subset to Latin and Vietnamese, under the SIL Open Font License
/// (`assets/fonts/OFL.txt`).
const SANS: &[u8] = include_bytes!("assets/fonts/NotoSans-Regular.woff2");
const SANS_BOLD: &[u8] = include_bytes!("assets/fonts/NotoSans-Bold.woff2");
const MONO: &[u8] = include_bytes!("assets/fonts/NotoSansMono-Regular.woff2");
const FONT_LICENCE: &str = include_str!("assets/fonts/OFL.txt");

/// The stylesheet, script and fonts, compiled in (no build chain, no inline script: the CSP
/// forbids it).
pub(crate) async fn asset(UrlPath(name): UrlPath<String>) -> Response {
    let (body, kind): (&'static [u8], &str) = match name.as_str() {
        "console.css" => (CSS.as_bytes(), "text/css; charset=utf-8"),
        "console.js" => (JS.as_bytes(), "text/javascript; charset=utf-8"),
        "live-worklet.js" => (LIVE_WORKLET.as_bytes(), "text/javascript; charset=utf-8"),
        "sans.woff2" => (SANS, "font/woff2"),
        "sans-bold.woff2" => (SANS_BOLD, "font/woff2"),
        "mono.woff2" => (MONO, "font/woff2"),
        "OFL.txt" => (FONT_LICENCE.as_bytes(), "text/plain; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// One choice a form offers: the value it sends (what the parser takes), and what the
/// operator reads.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub(crate) value: String,
    pub(crate) label: String,
}

impl Choice {
    pub(crate) fn new(value: impl Into<String>, label: impl Into<String>) -> Choice {
        Choice {
            value: value.into(),
            label: label.into(),
        }
    }

    /// The priorities a clip may be given, as the sidecar parser takes them.
    pub(crate) fn clip_priorities(lang: Lang) -> Vec<Choice> {
        crate::sidecar::CLIP_PRIORITIES
            .iter()
            .map(|p| Choice::new(p.code(), p.label(lang)))
            .collect()
    }

    /// The orders the operator may choose for a province's ưu tiên bulletin that clashes
    /// with a commune priority item.
    pub(crate) fn clash_orders(lang: Lang) -> Vec<Choice> {
        crate::journal::ClashOrder::ALL
            .iter()
            .map(|o| Choice::new(o.code(), o.label(lang)))
            .collect()
    }

    /// The outcomes the log filters by.
    pub(crate) fn outcomes(lang: Lang) -> Vec<Choice> {
        crate::history::Filter::OUTCOMES
            .iter()
            .map(|o| Choice::new(*o, crate::history::outcome_label(o, lang)))
            .collect()
    }
}

/// What the schedules in force declare, for the forms to offer rather than have typed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Declared {
    pub(crate) plans: Vec<Choice>,
    pub(crate) slots: Vec<Choice>,
    /// Plan items, each `key — description`.
    pub(crate) topics: Vec<Choice>,
}

impl App {
    pub(crate) fn lang(&self) -> Lang {
        self.config.language
    }

    /// The plans, slots and plan items the schedules declare (none if they cannot be read).
    pub(crate) fn declared(&self) -> Declared {
        let Ok(loaded) = self.station() else {
            return Declared::default();
        };
        let files = &loaded.station.schedules.files;
        let mut d = Declared::default();
        for f in files {
            d.plans.push(Choice::new(
                &f.plan.id,
                format!("{} — {}", f.plan.id, f.plan.title),
            ));
            for (key, what) in &f.plan.topics {
                d.topics.push(Choice::new(key, format!("{key} — {what}")));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in loaded.station.schedules.slots() {
            if seen.insert(s.id.clone()) {
                d.slots
                    .push(Choice::new(&s.id, format!("{} — {}", s.id, s.title)));
            }
        }
        d
    }

    /// The station with its schedules as they stand on disk (a broken file left out and
    /// reported, as `status` does).
    pub(crate) fn station(&self) -> Result<crate::station::Loaded, Refusal> {
        Station::load(self.config.clone(), Schedules::Lenient)
            .map_err(|e| Refusal::Failed(e.to_string()))
    }

    /// The occurrences in `[after, until)`, each planned by the planning function the daemon
    /// uses (at most `limit`).
    pub(crate) fn planned(
        &self,
        loaded: &crate::station::Loaded,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(crate::planner::Due, crate::planner::Planned)>, Refusal> {
        let station = &loaded.station;
        let journal = self.journal()?;
        let catalog = station.catalog();
        let planner = station.planner(&catalog);
        planner
            .forecast(&station.schedules, journal.as_ref(), after, until, limit)
            .map_err(|e| Refusal::Failed(e.to_string()))
    }

    /// The journal, read-only; `None` before the daemon first created it.
    pub(crate) fn journal(&self) -> Result<Option<Journal>, Refusal> {
        if !self.config.journal.is_file() {
            return Ok(None);
        }
        Journal::open_reader(&self.config.journal)
            .map(Some)
            .map_err(|e| Refusal::Failed(e.to_string()))
    }

    /// The daemon's published status, if it is running.
    pub(crate) fn live_status(&self, now: DateTime<Utc>) -> Option<crate::status::Status> {
        crate::status::read(&crate::status::path_for(&self.config.journal))
            .filter(|s| s.is_live(now))
    }

    pub(crate) fn local(&self, t: DateTime<Utc>, fmt: &str) -> String {
        t.with_timezone(&self.config.timezone)
            .format(fmt)
            .to_string()
    }
}

/// The Now page's content, and `/api/status`.
#[derive(Debug, Serialize)]
pub(crate) struct Now {
    pub(crate) daemon_running: bool,
    pub(crate) on_air: Option<OnAirView>,
    pub(crate) next: Vec<NextView>,
    /// The sound output: "ok", or what is wrong with it.
    pub(crate) output: String,
    pub(crate) output_up: bool,
    pub(crate) journal_backlog: usize,
    pub(crate) journal_error: Option<String>,
    pub(crate) rejected_files: Vec<crate::status::Rejected>,
    pub(crate) rejected_clips: Vec<(String, String)>,
    /// Stale emergencies set aside, not aired, one line each.
    pub(crate) expired: Vec<String>,
    pub(crate) chain_head: (i64, String),
    /// Console actions handed over and not yet journaled by the daemon.
    pub(crate) actions_waiting: usize,
    pub(crate) updated_at: Option<DateTime<Utc>>,
    /// How far the province's copy goes, when the station sends to one: the line, and
    /// whether sending is failing.
    pub(crate) province: Option<(String, bool)>,
}

#[derive(Debug, Serialize)]
pub(crate) struct OnAirView {
    pub(crate) title: String,
    pub(crate) plan: String,
    pub(crate) slot: String,
    pub(crate) priority: String,
    pub(crate) emergency: bool,
    pub(crate) started: String,
    pub(crate) clips: Vec<String>,
    /// Percent of its length aired so far, when the journal tells its length.
    pub(crate) progress: Option<u32>,
}

#[derive(Debug, Serialize)]
pub(crate) struct NextView {
    pub(crate) at: DateTime<Utc>,
    pub(crate) when: String,
    pub(crate) title: String,
    pub(crate) plan: String,
    pub(crate) slot: String,
    pub(crate) held: Option<String>,
}

impl App {
    pub(crate) fn now_view(&self, now: DateTime<Utc>, lang: Lang) -> Result<Now, Refusal> {
        let journal = self.journal()?;
        let live = self.live_status(now);
        let next = match &live {
            Some(s) => s.next.clone(),
            None => self
                .planned(&self.station()?, now, now + chrono::Duration::days(14), 5)?
                .iter()
                .map(|(due, planned)| crate::status::Upcoming::of(due, planned, lang))
                .collect(),
        };
        let on_air = live.as_ref().and_then(|s| s.on_air.as_ref()).map(|a| {
            let record = journal.as_ref().and_then(|j| {
                j.records(
                    a.scheduled_at,
                    a.scheduled_at + chrono::Duration::milliseconds(1),
                )
                .ok()?
                .into_iter()
                .rev()
                .find(|r| r.info.slot == a.slot && r.outcome.is_none())
            });
            let progress = record.as_ref().and_then(|r| {
                let started = r.started_at.unwrap_or(r.info.scheduled_at);
                let total: u64 = r.clips.iter().map(|c| c.duration_ms).sum();
                let done = (now - started).num_milliseconds().max(0) as u64;
                (total > 0).then(|| (done * 100 / total).min(100) as u32)
            });
            OnAirView {
                title: a.title.clone(),
                plan: a.plan.clone(),
                slot: a.slot.clone(),
                priority: a.kind(lang).to_string(),
                emergency: a.priority == crate::schedule::Priority::Emergency,
                started: self.local(
                    record
                        .as_ref()
                        .and_then(|r| r.started_at)
                        .unwrap_or(a.scheduled_at),
                    "%H:%M:%S",
                ),
                clips: a.clips.clone(),
                progress,
            }
        });
        let library =
            crate::status::read_library(&crate::status::library_path_for(&self.config.journal));
        let rejected_clips = library
            .map(|lib| {
                lib.folders
                    .iter()
                    .flat_map(|f| f.clips.iter())
                    .filter(|c| {
                        use crate::status::ClipStatus as S;
                        matches!(
                            c.state,
                            S::Undecodable | S::Refused | S::NotAudio | S::BadMetadata
                        )
                    })
                    .map(|c| (c.rel.clone(), c.detail.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        let (output, output_up) = match &live {
            None => (
                lang.pick("loaxa không chạy", "loaxa is not running")
                    .to_string(),
                false,
            ),
            Some(s) => match (&s.output_lost_since, &s.output_error) {
                (Some(since), _) => (
                    crate::tr!(
                        lang,
                        "mất đầu ra âm thanh từ {}",
                        "sound output lost since {}",
                        self.local(*since, "%d/%m %H:%M:%S")
                    ),
                    false,
                ),
                (None, Some(e)) => (e.clone(), false),
                (None, None) => (crate::tr!(lang, "{} — tốt", "{} — fine", s.output), true),
            },
        };
        Ok(Now {
            daemon_running: live.is_some(),
            on_air,
            next: next
                .into_iter()
                .take(5)
                .map(|u| NextView {
                    when: format!(
                        "{} {}",
                        lang.weekday(chrono::Datelike::weekday(
                            &u.at.with_timezone(&self.config.timezone)
                        )),
                        self.local(u.at, "%d/%m %H:%M")
                    ),
                    at: u.at,
                    title: u.title,
                    plan: u.plan,
                    slot: u.slot,
                    held: u.held,
                })
                .collect(),
            output,
            output_up,
            journal_backlog: live.as_ref().map_or(0, |s| s.journal_pending),
            journal_error: live.as_ref().and_then(|s| s.journal_error.clone()),
            rejected_files: live
                .as_ref()
                .map(|s| s.rejected.clone())
                .unwrap_or_default(),
            rejected_clips,
            expired: live
                .as_ref()
                .map(|s| {
                    s.expired
                        .iter()
                        .map(|e| e.text(lang, self.config.timezone))
                        .collect()
                })
                .unwrap_or_default(),
            chain_head: journal
                .as_ref()
                .map_or((0, String::new()), |j| (j.head().0, j.head().1.to_string())),
            actions_waiting: crate::mailbox::pending(&self.config.audio_dir).len(),
            updated_at: live.map(|s| s.updated_at),
            province: self.province.then(|| {
                match crate::sync::read(&crate::sync::path_for(&self.config.journal)) {
                    Some(state) => (
                        state.line(lang, self.config.timezone),
                        state.error.is_none(),
                    ),
                    None => (
                        lang.pick(
                            "chưa gửi được gì lên tỉnh (dịch vụ loaxa-sync chưa chạy?)",
                            "nothing sent to the province yet (is loaxa-sync running?)",
                        )
                        .to_string(),
                        false,
                    ),
                }
            }),
        })
    }
}

/// A chain verification started from the Health page, watched by its progress bar.
pub(crate) struct VerifyRun {
    pub(crate) total: i64,
    pub(crate) checked: AtomicI64,
    pub(crate) done: AtomicBool,
    pub(crate) result: Mutex<Option<Result<String, String>>>,
    pub(crate) intact: AtomicBool,
}

impl VerifyRun {
    pub(crate) fn start(app: &App) -> Result<Arc<VerifyRun>, Refusal> {
        let journal = app.journal()?.ok_or(Refusal::NotFound)?;
        let total = journal
            .event_count()
            .map_err(|e| Refusal::Failed(e.to_string()))?;
        let run = Arc::new(VerifyRun {
            total,
            checked: AtomicI64::new(0),
            done: AtomicBool::new(false),
            result: Mutex::new(None),
            intact: AtomicBool::new(false),
        });
        let r = run.clone();
        let lang = app.lang();
        std::thread::spawn(move || {
            let outcome = journal.verify_counting(None, &r.checked);
            let text = outcome.map(|v| {
                r.intact.store(v.is_intact(), Ordering::Relaxed);
                match &v.problem {
                    None => crate::tr!(
                        lang,
                        "chuỗi nguyên vẹn: {} sự kiện, đầu chuỗi {}",
                        "chain intact: {} events, head {}",
                        v.events,
                        v.head
                    ),
                    Some(p) => p.text(lang),
                }
            });
            if let Ok(mut slot) = r.result.lock() {
                *slot = Some(text.map_err(|e| e.to_string()));
            }
            r.checked.store(r.total, Ordering::Relaxed);
            r.done.store(true, Ordering::Release);
        });
        Ok(run)
    }

    pub(crate) fn percent(&self) -> u32 {
        if self.total == 0 {
            return 100;
        }
        (self.checked.load(Ordering::Relaxed) * 100 / self.total).clamp(0, 100) as u32
    }

    pub(crate) fn text(&self) -> Option<String> {
        self.result
            .lock()
            .ok()?
            .clone()
            .map(|r| r.unwrap_or_else(|e| e))
    }
}
