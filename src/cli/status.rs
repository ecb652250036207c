//! `loaxa status`: the running station as it publishes itself, or the station as it
//! stands when it is not running.

use super::*;

pub(super) fn status(
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    use std::fmt::Write as _;
    // A schedule file with errors must not hide the station's status; the daemon's own
    // report of rejected files is shown below.
    let station = ctx.station(Schedules::Lenient, err)?.station;
    let lang = station.lang();
    let tz = station.config.timezone;
    let now = ctx.now;
    // The audio folder, listed only if the running daemon's view is not at hand.
    let catalog = std::cell::OnceCell::new();
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}",
        tr!(
            lang,
            "{} — trạng thái lúc {} ({})",
            "{} — status at {} ({})",
            station.config.station_name,
            local(now),
            tz
        )
    );
    let live = crate::status::read(&crate::status::path_for(&station.config.journal))
        .filter(|s| s.is_live(now));
    // Read only when the daemon is not there to say, never created or written.
    let journal = match live {
        Some(_) => None,
        None => journal_if_any(&station.config)?,
    };
    match &live {
        Some(s) => {
            let _ = writeln!(
                o,
                "{}",
                tr!(
                    lang,
                    "loaxa: đang chạy (pid {}, từ {}); đầu ra: {}",
                    "loaxa: running (pid {}, since {}); output: {}",
                    s.pid,
                    local(s.started_at),
                    s.output
                )
            );
            if s.journal_pending > 0 {
                let _ = writeln!(
                    o,
                    "{}",
                    tr!(
                        lang,
                        "  NHẬT KÝ KHÔNG GHI ĐƯỢC ({}): {} sự kiện đang được giữ, sẽ ghi khi ghi được — hãy giải phóng ổ đĩa",
                        "  JOURNAL NOT WRITABLE ({}): {} event(s) held, to be written once it is — free disk space",
                        s.journal_error.clone().unwrap_or_default(),
                        s.journal_pending
                    )
                );
            }
            match (&s.output_lost_since, &s.output_error) {
                (Some(since), e) => {
                    let _ = writeln!(
                        o,
                        "{}",
                        tr!(
                            lang,
                            "  ĐẦU RA ÂM THANH MẤT từ {} ({}); loaxa đang tự tìm lại — kiểm tra card âm thanh, dây loa",
                            "  SOUND OUTPUT LOST since {} ({}); loaxa keeps looking for it — check the sound card and cables",
                            local(*since),
                            e.clone().unwrap_or_default()
                        )
                    );
                }
                (None, Some(e)) => {
                    let _ = writeln!(
                        o,
                        "{}",
                        tr!(
                            lang,
                            "  lần phát trước, đầu ra báo lỗi: {e}",
                            "  last broadcast, the output failed: {e}"
                        )
                    );
                }
                (None, None) => {
                    let _ = writeln!(
                        o,
                        "{}",
                        lang.pick(
                            "  đầu ra âm thanh: tốt (lần phát gần nhất không lỗi)",
                            "  sound output: fine (no error at the last broadcast)"
                        )
                    );
                }
            }
            match &s.on_air {
                Some(a) => {
                    let _ = writeln!(
                        o,
                        "{}",
                        tr!(
                            lang,
                            "Đang phát: {}/{} «{}» (lịch {})",
                            "On air: {}/{} “{}” (scheduled {})",
                            a.plan,
                            a.slot,
                            a.title,
                            local(a.scheduled_at)
                        )
                    );
                }
                None => {
                    let _ = writeln!(o, "{}", lang.pick("Đang phát: không", "On air: nothing"));
                }
            }
        }
        None => {
            let last = journal
                .as_ref()
                .and_then(|j| j.last_activity().ok().flatten());
            let _ = writeln!(
                o,
                "{}",
                match last {
                    Some(t) => tr!(
                        lang,
                        "loaxa: KHÔNG CHẠY (hoạt động cuối: {})",
                        "loaxa: NOT RUNNING (last active {})",
                        local(t)
                    ),
                    None => lang
                        .pick(
                            "loaxa: KHÔNG CHẠY (chưa từng chạy)",
                            "loaxa: NOT RUNNING (never ran)"
                        )
                        .to_string(),
                }
            );
        }
    }

    // A [sync] with errors was said above, located; here, what it stops.
    let sync = station.config.section(crate::sync::settings::parse);
    if sync.is_err() {
        let _ = writeln!(
            o,
            "{}: {}",
            lang.pick("Gửi lên tỉnh", "Province"),
            lang.pick(
                "MỤC [sync] CÓ LỖI (xem ở trên): `loaxa sync` không chạy, nhật ký không được gửi lên tỉnh cho đến khi sửa",
                "THE [sync] SECTION HAS ERRORS (see above): `loaxa sync` does not run, the journal is not sent to the province until it is fixed",
            )
        );
    }
    if let Ok(Some(sync)) = &sync {
        let line = match crate::sync::read(&crate::sync::path_for(&station.config.journal)) {
            Some(state) => state.line(lang, tz),
            None => tr!(
                lang,
                "chưa chạy `loaxa sync` lần nào (gửi lên {})",
                "`loaxa sync` has not run yet (to {})",
                sync.target.display
            ),
        };
        let _ = writeln!(o, "{}: {line}", lang.pick("Gửi lên tỉnh", "Province"));
    }

    let _ = writeln!(o, "\n{}", lang.pick("Sắp phát:", "Next:"));
    let next: Vec<crate::status::Upcoming> = match &live {
        Some(s) => s.next.clone(),
        None => {
            let planner = station.planner(catalog.get_or_init(|| station.catalog()));
            crate::status::Upcoming::ahead(&planner, &station.schedules, journal.as_ref(), now)
                .map_err(|e| Failure::Runtime(e.to_string()))?
        }
    };
    if next.is_empty() {
        let _ = writeln!(
            o,
            "  {}",
            lang.pick(
                "(không có trong 14 ngày tới)",
                "(nothing in the next 14 days)"
            )
        );
    }
    for u in next {
        let held = u
            .held
            .map(|r| tr!(lang, "  — KHÔNG PHÁT: {r}", "  — NOT AIRED: {r}"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  {}  {}/{}  «{}»{held}",
            local(u.at),
            u.plan,
            u.slot,
            u.title
        );
    }

    // Stale emergencies set aside: this run's, or the last day's from the journal.
    let expired: Vec<String> = match (&live, &journal) {
        (Some(s), _) => s.expired.iter().map(|e| e.text(lang, tz)).collect(),
        (None, Some(j)) => j
            .records(now - chrono::Duration::days(1), now)
            .map_err(|e| Failure::Runtime(e.to_string()))?
            .into_iter()
            .filter_map(|r| match r.reason {
                Some(crate::journal::Reason::Expired {
                    file,
                    handed_at,
                    age_seconds,
                    max_age_seconds,
                }) => Some(
                    crate::status::Expired {
                        file,
                        handed_at,
                        found_at: handed_at + chrono::Duration::seconds(age_seconds),
                        max_age_seconds,
                    }
                    .text(lang, tz),
                ),
                _ => None,
            })
            .collect(),
        (None, None) => Vec::new(),
    };
    if !expired.is_empty() {
        let _ = writeln!(o);
        for line in expired {
            let _ = writeln!(o, "{line}");
        }
    }

    if let Some(s) = &live {
        if !s.rejected.is_empty() {
            let _ = writeln!(
                o,
                "\n{}",
                lang.pick(
                    "Tệp lịch phát hoặc cấu hình bị từ chối (bản cũ vẫn được dùng nếu có):",
                    "Rejected schedule or configuration files (their previous version stays in force, if any):"
                )
            );
            for r in &s.rejected {
                let _ = writeln!(o, "  {}", r.file);
                for e in &r.errors {
                    for line in e.lines() {
                        let _ = writeln!(o, "    {line}");
                    }
                }
            }
        }
    }

    // Queues and their clips: as the running daemon sees them, else looked at now.
    let library = match live.as_ref().and_then(|_| {
        crate::status::read_library(&crate::status::library_path_for(&station.config.journal))
    }) {
        Some(l) => l,
        None => crate::status::library(
            catalog.get_or_init(|| station.catalog()),
            journal.as_ref(),
            &station.schedules,
            &station.config.emergency_dir,
            now,
            tz,
            lang,
        )
        .map_err(|e| Failure::Runtime(e.to_string()))?,
    };
    let on_air: Vec<String> = live
        .as_ref()
        .and_then(|s| s.on_air.as_ref())
        .map(|a| a.clips.clone())
        .unwrap_or_default();
    for f in &library.folders {
        use crate::status::{ClipStatus, FolderMode};
        if f.mode == FolderMode::Emergency && f.clips.is_empty() {
            continue;
        }
        let waiting = f.clips.iter().any(|c| c.state == ClipStatus::Waiting);
        if f.mode == FolderMode::Emergency && waiting && live.is_none() {
            let _ = writeln!(
                o,
                "\n{}",
                tr!(
                    lang,
                    "TIN KHẨN CẤP ĐANG CHỜ nhưng loaxa KHÔNG CHẠY: sẽ KHÔNG được phát cho đến khi loaxa chạy lại, và chỉ tin giao chưa quá {}",
                    "EMERGENCY WAITING but loaxa is NOT RUNNING: it will NOT air until loaxa runs again, and then only if handed over less than {} before",
                    lang.span(station.config.emergency_max_age.as_secs() as i64)
                )
            );
        }
        let mode = f.mode.label(lang);
        let _ = writeln!(
            o,
            "\n{}",
            tr!(
                lang,
                "Hàng đợi {}/ ({}, {} tệp):",
                "Queue {}/ ({}, {} files):",
                f.folder,
                mode,
                f.clips.len()
            )
        );
        for e in &f.settings_errors {
            for line in e.lines() {
                let _ = writeln!(o, "  {line}");
            }
        }
        for c in &f.clips {
            let aired = c.aired;
            let detail = c.detail.clone().unwrap_or_default();
            let label = c.state.label(lang);
            let state = match c.state {
                _ if on_air.contains(&c.rel) => lang.pick("ĐANG PHÁT", "ON AIR").to_string(),
                ClipStatus::Waiting => match c.limit {
                    Some(n) => tr!(
                        lang,
                        "{label} — đã phát {aired}/{n} lần",
                        "{label} — aired {aired} of {n} time(s)"
                    ),
                    None => tr!(
                        lang,
                        "{label} — đã phát {aired} lần",
                        "{label} — aired {aired} time(s)"
                    ),
                },
                ClipStatus::Incomplete | ClipStatus::Checking | ClipStatus::NotAudio => {
                    label.to_string()
                }
                ClipStatus::Undecodable | ClipStatus::Refused => format!("{label}: {detail}"),
                ClipStatus::BadMetadata => {
                    tr!(lang, "{label} (xem dưới)", "{label} (below)")
                }
                ClipStatus::NotYet | ClipStatus::Expired => format!("{label} ({detail})"),
                ClipStatus::Spent => tr!(lang, "{label} {aired} lần", "{label} ({aired} time(s))"),
                ClipStatus::Retired => tr!(
                    lang,
                    "{label} ({aired} lần), trong da-phat/",
                    "{label} (aired {aired} time(s)), in da-phat/"
                ),
            };
            let name = c
                .rel
                .strip_prefix(&format!("{}/", f.folder))
                .unwrap_or(&c.rel)
                .to_string();
            let _ = writeln!(o, "  {name:<40}  {state}");
            if c.state == ClipStatus::BadMetadata {
                for line in c.detail.as_deref().unwrap_or_default().lines() {
                    let _ = writeln!(o, "      {line}");
                }
            }
        }
    }
    write!(out, "{o}").map_err(io)?;
    Ok(())
}
