//! `loaxa doctor`: one command an operator (or whoever they phone) runs when something seems
//! wrong. It checks the configuration, the schedules, the audio library, the sound output, the
//! journal's integrity, free disk space, clock synchronisation and the service, and says for
//! each what is wrong and how to fix it, in the operator's language.

use std::path::Path;
use std::process::Command;

use crate::audio::Output;
use crate::config::{Config, OutputSpec};
use crate::lang::Lang;
use crate::station::Station;
use crate::tr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    /// The verdict in words, for the console's Health page.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Level::Ok => lang.pick("tốt", "fine"),
            Level::Warn => lang.pick("cần xem", "check"),
            Level::Fail => lang.pick("lỗi", "failing"),
        }
    }

    /// The style a page gives it.
    pub fn class(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "bad",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub level: Level,
    pub what: String,
    pub detail: String,
    /// How to fix it (empty when nothing is wrong).
    pub fix: String,
}

fn finding(level: Level, what: &str, detail: String, fix: String) -> Finding {
    Finding {
        level,
        what: what.to_string(),
        detail,
        fix,
    }
}

/// Runs every check on a station whose configuration loaded (schedule errors included).
pub fn examine(
    station: &Station,
    schedule_errors: usize,
    schedule_warnings: usize,
    open_device: &dyn Fn(&Config) -> Option<Box<dyn Output>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Finding> {
    let lang = station.lang();
    let cfg = &station.config;
    let l = |vi: &'static str, en: &'static str| lang.pick(vi, en);
    let mut out = Vec::new();

    out.push(finding(
        Level::Ok,
        l("Cấu hình", "Configuration"),
        cfg.file
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        String::new(),
    ));

    let slots = station.schedules.slots().count();
    out.push(if schedule_errors > 0 {
        finding(
            Level::Fail,
            l("Lịch phát", "Schedules"),
            tr!(lang, "{schedule_errors} lỗi", "{schedule_errors} error(s)"),
            l(
                "chạy `loaxa validate` để xem từng lỗi và vị trí, sửa rồi lưu lại",
                "run `loaxa validate` for each error and where it is; fix and save",
            )
            .into(),
        )
    } else if slots == 0 {
        finding(
            Level::Warn,
            l("Lịch phát", "Schedules"),
            l("chưa có phiên phát nào", "no slots yet").into(),
            tr!(
                lang,
                "thêm tệp .toml vào {}",
                "add a .toml file to {}",
                cfg.schedules_dir.display()
            ),
        )
    } else {
        finding(
            if schedule_warnings > 0 {
                Level::Warn
            } else {
                Level::Ok
            },
            l("Lịch phát", "Schedules"),
            tr!(
                lang,
                "{} tệp, {slots} phiên, {schedule_warnings} cảnh báo",
                "{} file(s), {slots} slot(s), {schedule_warnings} warning(s)",
                station.schedules.files.len()
            ),
            if schedule_warnings > 0 {
                l(
                    "chạy `loaxa validate` để xem các cảnh báo",
                    "run `loaxa validate` to see the warnings",
                )
                .into()
            } else {
                String::new()
            },
        )
    });

    // The audio library: every queue has something to air; nothing undecodable.
    let mut folders: Vec<String> = station
        .schedules
        .slots()
        .filter_map(|s| s.queue.as_ref().map(|q| q.folder.clone()))
        .collect();
    folders.sort();
    folders.dedup();
    let (mut ready, mut bad, mut empty) = (0, Vec::new(), Vec::new());
    // Measured once and cached in the journal database: a second doctor run decodes nothing.
    let catalog = station.catalog();
    for folder in &folders {
        let mut airable = 0;
        for c in catalog.queue(folder) {
            match (&c.state, &c.meta) {
                (crate::catalog::ClipState::Ready(_), Ok(_)) => airable += 1,
                (crate::catalog::ClipState::Undecodable(_), _) | (_, Err(_)) => {
                    bad.push(c.rel.clone());
                }
                _ => {}
            }
        }
        ready += airable;
        if airable == 0 {
            empty.push(folder.clone());
        }
    }
    out.push(if !bad.is_empty() || !empty.is_empty() {
        let mut detail = Vec::new();
        if !bad.is_empty() {
            detail.push(tr!(lang, "tệp hỏng: {}", "damaged: {}", bad.join(", ")));
        }
        if !empty.is_empty() {
            detail.push(tr!(
                lang,
                "hàng đợi trống: {}",
                "empty queues: {}",
                empty.join(", ")
            ));
        }
        finding(
            Level::Warn,
            l("Thư viện bài phát", "Audio library"),
            detail.join("; "),
            l(
                "chép lại tệp hỏng từ bản gốc; thêm bài vào hàng đợi trống",
                "copy damaged files again from the original; add clips to empty queues",
            )
            .into(),
        )
    } else {
        finding(
            Level::Ok,
            l("Thư viện bài phát", "Audio library"),
            tr!(
                lang,
                "{ready} bài sẵn sàng trong {} hàng đợi",
                "{ready} clip(s) ready in {} queue(s)",
                folders.len()
            ),
            String::new(),
        )
    });

    // The output: open it for real, as a broadcast would — unless the daemon holds it.
    let live =
        crate::status::read(&crate::status::path_for(&cfg.journal)).filter(|s| s.is_live(now));
    out.push(match &cfg.output {
        OutputSpec::Null => finding(
            Level::Warn,
            l("Đầu ra âm thanh", "Sound output"),
            cfg.output.describe(lang),
            l("đặt `output = \"default\"` trong cấu hình để phát ra loa", "set `output = \"default\"` in the configuration to air to the loudspeakers").into(),
        ),
        OutputSpec::Wav(_) => finding(
            Level::Warn,
            l("Đầu ra âm thanh", "Sound output"),
            cfg.output.describe(lang),
            l("đặt `output = \"default\"` trong cấu hình để phát ra loa", "set `output = \"default\"` in the configuration to air to the loudspeakers").into(),
        ),
        // On air, the running daemon holds the device: opening it again would say "busy" (or
        // cut in on the broadcast); and while it has lost it, it is already looking. What the
        // daemon sees of it is the answer then. (Between broadcasts the device is closed and
        // is opened here as usual.)
        _ if live
            .as_ref()
            .is_some_and(|s| s.on_air.is_some() || s.output_lost_since.is_some()) =>
        {
            match live.as_ref().map(|s| (&s.output_lost_since, &s.output_error)) {
            Some((Some(since), e)) => finding(
                Level::Fail,
                l("Đầu ra âm thanh", "Sound output"),
                tr!(lang, "mất từ {} ({}); loaxa đang tìm lại", "lost since {} ({}); loaxa keeps looking for it", since.with_timezone(&cfg.timezone).format("%Y-%m-%d %H:%M:%S"), e.clone().unwrap_or_default()),
                l("kiểm tra card âm thanh/USB đã cắm, dây loa, âm lượng (alsamixer); `aplay -l` liệt kê thiết bị", "check the sound card/USB is plugged in, the cables, the volume (alsamixer); `aplay -l` lists devices").into(),
            ),
            _ => finding(
                Level::Ok,
                l("Đầu ra âm thanh", "Sound output"),
                tr!(lang, "{} đang phát (do loaxa đang chạy giữ)", "{} on air (held by the running loaxa)", cfg.output.describe(lang)),
                String::new(),
            ),
            }
        }
        _ => match open_device(cfg).map(|mut o| (o.open(None), o)) {
            Some((Ok(format), mut o)) => {
                o.close();
                finding(Level::Ok, l("Đầu ra âm thanh", "Sound output"), tr!(lang, "{} mở được ({} kênh, {} Hz)", "{} opens ({} channels, {} Hz)", cfg.output.describe(lang), format.channels, format.sample_rate), String::new())
            }
            Some((Err(e), _)) => finding(
                Level::Fail,
                l("Đầu ra âm thanh", "Sound output"),
                e.to_string(),
                l("kiểm tra card âm thanh/USB đã cắm, dây loa, âm lượng (alsamixer); `aplay -l` liệt kê thiết bị", "check the sound card/USB is plugged in, the cables, the volume (alsamixer); `aplay -l` lists devices").into(),
            ),
            None => finding(Level::Warn, l("Đầu ra âm thanh", "Sound output"), l("không kiểm tra", "not checked").into(), String::new()),
        },
    });

    // The journal.
    out.push(if !cfg.journal.is_file() {
        finding(Level::Warn, l("Nhật ký", "Journal"), tr!(lang, "chưa có ({})", "none yet ({})", cfg.journal.display()), l("sẽ được tạo khi loaxa chạy lần đầu", "it is created when loaxa first runs").into())
    } else {
        match crate::journal::Journal::open_reader(&cfg.journal).and_then(|j| j.verify(None)) {
            Ok(v) if v.is_intact() => finding(Level::Ok, l("Nhật ký", "Journal"), tr!(lang, "{} sự kiện, chuỗi băm nguyên vẹn", "{} events, hash chain intact", v.events), String::new()),
            Ok(v) => finding(
                Level::Fail,
                l("Nhật ký", "Journal"),
                v.problem.map(|p| p.text(lang)).unwrap_or_default(),
                l("nhật ký đã bị sửa ngoài loaxa: giữ nguyên tệp làm bằng chứng, báo cho cấp trên; `loaxa log verify` chỉ rõ chỗ hỏng", "the journal was edited outside loaxa: keep the file as evidence and report it; `loaxa log verify` shows where").into(),
            ),
            Err(e) => finding(Level::Fail, l("Nhật ký", "Journal"), e.to_string(), l("kiểm tra quyền đọc/ghi thư mục nhật ký", "check the journal folder's permissions").into()),
        }
    });

    // Free disk space where the journal lives.
    let dir = cfg
        .journal
        .parent()
        .filter(|d| d.is_dir())
        .unwrap_or(&cfg.station_dir);
    out.push(match free_mb(dir) {
        Some(mb) if mb < 200 => finding(
            Level::Fail,
            l("Dung lượng đĩa", "Disk space"),
            tr!(lang, "còn {mb} MB", "{mb} MB free"),
            l(
                "xóa bớt tệp không cần (không xóa nhật ký)",
                "delete unneeded files (not the journal)",
            )
            .into(),
        ),
        Some(mb) if mb < 1000 => finding(
            Level::Warn,
            l("Dung lượng đĩa", "Disk space"),
            tr!(lang, "còn {mb} MB", "{mb} MB free"),
            l(
                "sắp đầy: dọn bớt tệp không cần",
                "getting full: clear out unneeded files",
            )
            .into(),
        ),
        Some(mb) => finding(
            Level::Ok,
            l("Dung lượng đĩa", "Disk space"),
            tr!(lang, "còn {mb} MB", "{mb} MB free"),
            String::new(),
        ),
        None => finding(
            Level::Warn,
            l("Dung lượng đĩa", "Disk space"),
            l("không đo được", "cannot tell").into(),
            String::new(),
        ),
    });

    // Clock synchronisation: a wrong clock airs at the wrong time.
    out.push(
        match command_output("timedatectl", &["show", "-p", "NTPSynchronized", "--value"]) {
            Some(v) if v == "yes" => finding(
                Level::Ok,
                l("Đồng hồ", "Clock"),
                l("đã đồng bộ qua mạng (NTP)", "synchronised (NTP)").into(),
                String::new(),
            ),
            Some(_) => finding(
                Level::Warn,
                l("Đồng hồ", "Clock"),
                l("chưa đồng bộ", "not synchronised").into(),
                l(
                    "bật đồng bộ giờ: `sudo timedatectl set-ntp true`",
                    "turn on time sync: `sudo timedatectl set-ntp true`",
                )
                .into(),
            ),
            None => finding(
                Level::Warn,
                l("Đồng hồ", "Clock"),
                l(
                    "không kiểm tra được (không có timedatectl)",
                    "cannot tell (no timedatectl)",
                )
                .into(),
                l(
                    "kiểm tra giờ máy đúng với giờ Việt Nam",
                    "check the machine's time is right",
                )
                .into(),
            ),
        },
    );

    // The service, and whether a daemon is running at all.
    let live =
        crate::status::read(&crate::status::path_for(&cfg.journal)).filter(|s| s.is_live(now));
    let service = command_output("systemctl", &["is-active", "loaxa"]);
    out.push(match (live, service.as_deref()) {
        (Some(s), _) => finding(Level::Ok, l("Dịch vụ", "Service"), tr!(lang, "loaxa đang chạy (pid {})", "loaxa is running (pid {})", s.pid), String::new()),
        (None, Some("active")) => finding(Level::Ok, l("Dịch vụ", "Service"), l("dịch vụ loaxa đang chạy", "the loaxa service is active").into(), String::new()),
        (None, _) => finding(
            Level::Fail,
            l("Dịch vụ", "Service"),
            l("loaxa không chạy: sẽ không phát gì", "loaxa is not running: nothing will air").into(),
            l("`sudo systemctl start loaxa` (hoặc `loaxa run` trong thư mục của đài); xem lỗi: `journalctl -u loaxa`", "`sudo systemctl start loaxa` (or `loaxa run` in the station folder); errors: `journalctl -u loaxa`").into(),
        ),
    });
    out
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn free_mb(dir: &Path) -> Option<u64> {
    crate::files::free_bytes(dir).map(|b| b / 1_000_000)
}

/// Renders the findings, one line each with its fix.
/// Each relay source the schedules name, listened to for a few seconds: what was heard.
pub fn relays(station: &Station) -> Vec<Finding> {
    let lang = station.lang();
    let mut seen: Vec<&crate::relay::Source> = Vec::new();
    let mut out = Vec::new();
    for r in station.schedules.slots().filter_map(|s| s.relay.as_ref()) {
        if seen.contains(&&r.source) {
            continue;
        }
        seen.push(&r.source);
        let p = crate::relay::probe(&r.source, lang);
        let what = tr!(lang, "Tiếp sóng {}", "Relay {}", r.source);
        let (level, fix) = match p.verdict() {
            crate::relay::Verdict::Heard => (Level::Ok, String::new()),
            crate::relay::Verdict::Slow { .. } => (
                Level::Warn,
                lang.pick(
                    "nguồn gửi chậm hơn thời gian thực: kiểm tra đường truyền Internet của máy, hoặc chọn luồng có tốc độ bit thấp hơn",
                    "the source is slower than real time: check the PC's Internet link, or pick a stream of a lower bit rate",
                )
                .into(),
            ),
            crate::relay::Verdict::Silent => (
                Level::Warn,
                lang.pick(
                    "nguồn gửi khoảng lặng: kiểm tra máy thu hoặc đài phát phía trên; phiên tiếp sóng sẽ bị ghi là không đạt nếu vẫn im lặng",
                    "the source sends silence: check the receiver or the upper station; a relay that stays silent is not journaled completed",
                )
                .into(),
            ),
            crate::relay::Verdict::Nothing => (
                Level::Fail,
                match &r.source {
                    crate::relay::Source::Alsa(_) => lang.pick(
                        "kiểm tra tên thiết bị thu (`arecord -L` liệt kê các thiết bị) và dây nối máy thu vào card âm thanh",
                        "check the capture device's name (`arecord -L` lists them) and the receiver's cable to the sound card",
                    ),
                    crate::relay::Source::Http(_) | crate::relay::Source::Browser(_) => lang.pick(
                        "kiểm tra mạng Internet của máy và địa chỉ luồng (mở thử bằng trình nghe nhạc); khi nguồn mất, đài phát bài dự phòng (`fallback`) hoặc im lặng",
                        "check the PC's Internet link and the stream address (try it in a media player); while the source is down the slot airs its `fallback` or silence",
                    ),
                }
                .into(),
            ),
        };
        out.push(finding(level, &what, p.text(lang), fix));
    }
    out
}

pub fn render(findings: &[Finding], lang: Lang) -> String {
    let mut o = String::new();
    for f in findings {
        let mark = match f.level {
            Level::Ok => "✓",
            Level::Warn => "!",
            Level::Fail => "✗",
        };
        o.push_str(&format!("{mark} {}: {}\n", f.what, f.detail));
        if !f.fix.is_empty() {
            o.push_str(&format!(
                "    → {}: {}\n",
                lang.pick("cách khắc phục", "fix"),
                f.fix
            ));
        }
    }
    o
}
