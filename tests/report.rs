//! The commune's report, from a simulated September 2025 of a station modelled on the
//! example: holidays, two days with loaxa down, a day with no sound device, a silent clip.
//! The numbers are checked against what the plan called for, every format is produced by
//! the real binary, and CSV and JSON come out byte-identical from the same journal.

use std::time::Duration;

use crate::support::TempStation;
use chrono::{DateTime, NaiveDateTime, Utc};
use loaxa::audio::recorder::{Recorder, Tape};
use loaxa::clock::FakeClock;
use loaxa::daemon::RunOptions;
use loaxa::journal::Journal;
use loaxa::recurrence::local_to_utc;

const TZ: chrono_tz::Tz = chrono_tz::Asia::Ho_Chi_Minh;

const SCHEDULE: &str = r#"
[plan]
id = "cchc-2025"
title = "Kế hoạch tuyên truyền công tác cải cách hành chính năm 2025"
document = "Thực hiện Quyết định số 1498/QĐ-UBND ngày 05/8/2025"
valid_from = 2025-08-19
valid_until = 2025-12-31

[topics]
a = "Vai trò, ý nghĩa của CCHC"
dd = "Một cửa, dịch vụ công trực tuyến"

[[slot]]
id = "sang"
title = "Chuyên mục CCHC buổi sáng"
at = ["06:00"]
days = "mon-sat"
except = [2025-09-01, 2025-09-02]
topic = "a"
intro = "nhac-hieu.wav"
queue = "cchc"
take = 2

[[slot]]
id = "chieu"
title = "Một cửa, dịch vụ công"
at = ["17:00"]
days = "mon-fri"
topic = "dd"
queue = "mot-cua"
take = 1
"#;

pub(crate) fn local(s: &str) -> DateTime<Utc> {
    local_to_utc(
        TZ,
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
    )
    .unwrap()
}

pub(crate) fn run(st: &TempStation, recorder: Recorder, clock: &FakeClock, until: DateTime<Utc>) {
    let options = RunOptions {
        tick: Duration::from_secs(3600),
        ..RunOptions::default()
    };
    crate::support::daemon::run(st, recorder, clock, until, vec![], vec![], options);
}

pub(crate) fn september() -> TempStation {
    let st = TempStation::new("station = \"Đài truyền thanh xã Hoằng Hóa\"", SCHEDULE);
    // TempStation wrote a station name already; keep the first.
    st.write(
        "config/loaxa.toml",
        "station = \"Đài truyền thanh xã Hoằng Hóa\"\noutput = \"null\"\n",
    );
    st.tone("nhac-hieu.wav", 0.3);
    st.tone("cchc/01-vai-tro.wav", 0.4);
    st.tone("cchc/02-thu-tuc.wav", 0.4);
    st.tone("mot-cua/01-mot-cua.wav", 0.4);
    crate::support::silence_wav(&st.path().join("audio/mot-cua/02-im-lang.wav"), 0.4);
    let clock = FakeClock::new(local("2025-08-31 00:00"));
    run(
        &st,
        Recorder::new(Tape::default()),
        &clock,
        local("2025-09-10 12:00"),
    );
    // Down from 10 Sep noon to 12 Sep 08:00.
    clock.set(local("2025-09-12 08:00"));
    run(
        &st,
        Recorder::new(Tape::default()),
        &clock,
        local("2025-09-14 23:00"),
    );
    // 15 Sep morning: the sound card is missing.
    let mut no_card = Recorder::new(Tape::default());
    no_card.missing = true;
    run(&st, no_card, &clock, local("2025-09-15 10:00"));
    run(
        &st,
        Recorder::new(Tape::default()),
        &clock,
        local("2025-10-01 00:05"),
    );
    st
}

fn report(st: &TempStation, args: &[&str]) -> Vec<u8> {
    let out = crate::support::bin::command()
        .current_dir(st.path())
        .arg("report")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn a_month_report_accounts_for_every_planned_occurrence_and_scores_it() {
    crate::support::shared();
    let st = september();
    let json: serde_json::Value = serde_json::from_slice(&report(
        &st,
        &["--month", "2025-09", "--format", "json", "--lang", "en"],
    ))
    .unwrap();
    let t = &json["totals"];
    // sang: 26 Mon–Sat days less 2 holidays = 24; chieu: 22 weekdays.
    assert_eq!(t["planned"], 46, "{json:#}");
    assert_eq!(t["completed"], 41);
    assert_eq!(t["missed"], 4);
    assert_eq!(t["failed"], 1);
    assert_eq!(json["completion_percent"], 89.1);
    assert_eq!(json["index_score"], 0.0, "under 90 % scores nothing");

    let plan = &json["plans"][0];
    assert_eq!(
        plan["title"],
        "Kế hoạch tuyên truyền công tác cải cách hành chính năm 2025"
    );
    let topics: Vec<(String, i64, i64)> = plan["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["planned"].as_i64().unwrap(),
                r["completed"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        topics,
        [("a".to_string(), 24, 21), ("dd".to_string(), 22, 20)]
    );
    let slots: Vec<&str> = plan["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        slots,
        ["sang", "chieu"],
        "slots in the order the plan lists them"
    );

    let shortfalls = json["shortfalls"].as_array().unwrap();
    assert_eq!(shortfalls.len(), 5);
    assert_eq!(shortfalls[0]["scheduled"], "2025-09-10 17:00:00");
    assert_eq!(shortfalls[0]["reason"], "loaxa was not running");
    assert!(
        shortfalls[4]["reason"]
            .as_str()
            .unwrap()
            .starts_with("no sound device"),
        "{shortfalls:#?}"
    );

    let clips = json["clips"].as_array().unwrap();
    let silent = clips
        .iter()
        .find(|c| c["clip"] == "mot-cua/02-im-lang.wav")
        .unwrap();
    assert!(
        silent["dead_air"].as_i64().unwrap() > 0,
        "a silent clip is flagged as dead air"
    );
    let tune = clips.iter().find(|c| c["clip"] == "nhac-hieu.wav").unwrap();
    assert_eq!(tune["times_aired"], 21);
    assert_eq!(tune["sha256_prefix"].as_str().unwrap().len(), 12);

    // The report pins the journal it was made from.
    let v = Journal::open(&st.journal()).unwrap().verify(None).unwrap();
    assert_eq!(json["chain"]["head"], v.head);
    assert_eq!(json["chain"]["events"], v.events);
}

#[test]
fn every_format_is_produced_and_csv_and_json_are_reproducible() {
    crate::support::shared();
    let st = september();
    for format in ["csv", "json"] {
        let a = report(&st, &["--month", "2025-09", "--format", format]);
        let b = report(&st, &["--month", "2025-09", "--format", format]);
        assert_eq!(
            a, b,
            "{format} must be byte-identical from the same journal"
        );
    }
    let text = String::from_utf8(report(&st, &["--quarter", "2025-Q3"])).unwrap();
    assert!(
        text.contains("BÁO CÁO KẾT QUẢ PHÁT SÓNG TUYÊN TRUYỀN — quý III/2025"),
        "{text}"
    );
    assert!(text.contains("Tỷ lệ hoàn thành kế hoạch: 89.1%"), "{text}");
    assert!(text.contains("loaxa không chạy lúc đó"), "{text}");

    let html = String::from_utf8(report(&st, &["--month", "2025-09", "--format", "html"])).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("@page { size: A4"));
    assert!(html.contains("Đài truyền thanh xã Hoằng Hóa".to_uppercase().as_str()));
    for external in ["http:", "https:", "src=", "<link", "@import"] {
        assert!(
            !html.contains(external),
            "the page must be self-contained: found {external}"
        );
    }

    let dir = crate::support::scratch();
    let xlsx = dir.path().join("bao-cao.xlsx");
    report(
        &st,
        &[
            "--month",
            "2025-09",
            "--format",
            "xlsx",
            "--out",
            xlsx.to_str().unwrap(),
        ],
    );
    let bytes = std::fs::read(&xlsx).unwrap();
    assert_eq!(&bytes[..2], b"PK", "an xlsx file is a zip archive");

    // Redirected, the workbook goes where it was sent, and nowhere else.
    let piped = report(&st, &["--month", "2025-09", "--format", "xlsx"]);
    assert_eq!(&piped[..2], b"PK", "the workbook on standard output");
    let stray: Vec<_> = std::fs::read_dir(st.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".xlsx"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
    // Completion and score are numbers a spreadsheet can sum and chart, not text.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(piped)).unwrap();
    let mut sheet = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut sheet,
    )
    .unwrap();
    let cell = |value: &str| {
        sheet
            .split("<c ")
            .find(|c| c.contains(&format!("<v>{value}</v>")))
            .map(str::to_string)
    };
    let completion = cell("89.1").expect("completion % as a number");
    assert!(!completion.contains("t=\"s\""), "{completion}");
    assert!(
        completion.contains(" s=\""),
        "with a number format: {completion}"
    );

    let csv = String::from_utf8(report(&st, &["--month", "2025-09", "--format", "csv"])).unwrap();
    assert!(csv.contains("header,completion_percent,89.1%"), "{csv}");
    assert!(
        csv.lines().any(|l| l.starts_with("topic,cchc-2025,a,")),
        "{csv}"
    );
}

/// Writes the September report in every format into `$LOAXA_DEMO_OUT`, for
/// `scripts/render-report.sh` to render in headless Chromium. Ignored by default.
#[test]
#[ignore]
fn demo_report_files() {
    crate::support::shared();
    let out =
        std::path::PathBuf::from(std::env::var("LOAXA_DEMO_OUT").expect("set LOAXA_DEMO_OUT"));
    std::fs::create_dir_all(&out).unwrap();
    let st = september();
    for (format, name) in [
        ("html", "bao-cao.html"),
        ("table", "bao-cao.txt"),
        ("csv", "bao-cao.csv"),
        ("json", "bao-cao.json"),
    ] {
        std::fs::write(
            out.join(name),
            report(&st, &["--month", "2025-09", "--format", format]),
        )
        .unwrap();
    }
    std::fs::write(
        out.join("report-en.html"),
        report(
            &st,
            &["--month", "2025-09", "--format", "html", "--lang", "en"],
        ),
    )
    .unwrap();
    report(
        &st,
        &[
            "--month",
            "2025-09",
            "--format",
            "xlsx",
            "--out",
            out.join("bao-cao.xlsx").to_str().unwrap(),
        ],
    );
    let day = crate::support::bin::command()
        .current_dir(st.path())
        .args(["log", "--day", "2025-09-15"])
        .output()
        .unwrap();
    std::fs::write(out.join("nhat-ky-2025-09-15.txt"), day.stdout).unwrap();
}

fn log(st: &TempStation, args: &[&str]) -> String {
    let out = crate::support::bin::command()
        .current_dir(st.path())
        .args(["log", "--lang", "en"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_log_filters_by_plan_slot_topic_and_outcome_and_shows_a_day_as_a_timeline() {
    crate::support::shared();
    let st = september();
    let month = [
        "--from",
        "2025-09-01",
        "--to",
        "2025-09-30",
        "--format",
        "csv",
    ];
    let rows = |extra: &[&str]| {
        let mut a = month.to_vec();
        a.extend_from_slice(extra);
        log(&st, &a).lines().count() - 1
    };
    assert_eq!(rows(&[]), 46);
    assert_eq!(rows(&["--outcome", "missed"]), 4);
    assert_eq!(rows(&["--slot", "chieu", "--outcome", "missed"]), 2);
    assert_eq!(rows(&["--topic", "dd"]), 22);
    assert_eq!(rows(&["--plan", "khac"]), 0);
    assert_eq!(rows(&["--outcome", "failed"]), 1);

    let day = log(&st, &["--day", "2025-09-15"]);
    assert!(
        day.contains("15/09/2025 (times in Asia/Ho_Chi_Minh)"),
        "{day}"
    );
    assert!(day.contains("06:00:00  planned  cchc-2025/sang"), "{day}");
    assert!(day.contains("failed — no sound device"), "{day}");
    assert!(day.contains("17:00:00  planned  cchc-2025/chieu"), "{day}");
    assert!(day.contains("completed"), "{day}");

    let bad = crate::support::bin::command()
        .current_dir(st.path())
        .args(["log", "--outcome", "lost"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// A journal written by release 0.1.0 (`tests/fixtures/journal-0.1.0/`, made by
/// `write_release_journal_fixture` at that release): every later release must verify it and
/// report on it byte for byte as that release did. The journal is evidence; a refactoring
/// that changes how its events read back changes what the commune can prove.
#[test]
fn a_journal_written_by_release_0_1_0_verifies_and_reports_byte_identically() {
    crate::support::shared();
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journal-0.1.0");
    let read = |name: &str| std::fs::read(fixture.join(name)).unwrap();
    let st = TempStation::new("", &String::from_utf8(read("schedule.toml")).unwrap());
    st.write(
        "config/loaxa.toml",
        &String::from_utf8(read("loaxa.toml")).unwrap(),
    );
    std::fs::create_dir_all(st.journal().parent().unwrap()).unwrap();
    std::fs::write(st.journal(), read("loaxa.db")).unwrap();

    let verify = crate::support::bin::loaxa(&st)
        .args(["log", "verify", "--lang", "en", "--pin"])
        .arg("183:3e395dff1fb22bb22673e3d728957130493145f77011b17b232fac3bfa1e3752")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{said}");
    assert!(said.contains("the hash chain is intact"), "{said}");
    assert!(
        said.contains("matches the printed report (event 183)"),
        "{said}"
    );

    for format in ["csv", "json"] {
        assert!(
            report(&st, &["--month", "2025-09", "--format", format])
                == read(&format!("report-2025-09.{format}")),
            "the {format} report of the 0.1.0 journal changed"
        );
    }
    assert!(
        log(
            &st,
            &[
                "--from",
                "2025-08-01",
                "--to",
                "2025-10-31",
                "--format",
                "json"
            ]
        )
        .into_bytes()
            == read("log.json"),
        "the log of the 0.1.0 journal changed"
    );
}

/// Writes a journal this release made, with its reports, into `$LOAXA_FIXTURE_OUT`: the
/// fixture `tests/fixtures/journal-0.1.0/` that later releases must read and report on
/// byte-identically. Ignored by default.
#[test]
#[ignore]
fn write_release_journal_fixture() {
    crate::support::shared();
    let out = std::path::PathBuf::from(
        std::env::var("LOAXA_FIXTURE_OUT").expect("set LOAXA_FIXTURE_OUT"),
    );
    std::fs::create_dir_all(&out).unwrap();
    let st = september();
    loaxa::journal::Journal::open(&st.journal())
        .unwrap()
        .checkpoint()
        .unwrap();
    std::fs::copy(st.journal(), out.join("loaxa.db")).unwrap();
    std::fs::copy(st.path().join("config/loaxa.toml"), out.join("loaxa.toml")).unwrap();
    std::fs::copy(
        st.path().join("schedules/test.toml"),
        out.join("schedule.toml"),
    )
    .unwrap();
    for format in ["csv", "json"] {
        std::fs::write(
            out.join(format!("report-2025-09.{format}")),
            report(&st, &["--month", "2025-09", "--format", format]),
        )
        .unwrap();
    }
    std::fs::write(
        out.join("log.json"),
        log(
            &st,
            &[
                "--from",
                "2025-08-01",
                "--to",
                "2025-10-31",
                "--format",
                "json",
            ],
        ),
    )
    .unwrap();
}
