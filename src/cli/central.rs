//! `loaxa central …`: the province's database, set up, added to, reported and verified.

use super::*;
use crate::central::{self, CentralError, Target};

pub(super) fn central(
    ctx: &Context,
    db: Option<String>,
    action: CentralAction,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    let lang = ctx.early_lang();
    let Some(db) = db else {
        writeln!(
            err,
            "{}",
            lang.pick(
                "cần --db ĐỊA_CHỈ (hoặc LOAXA_CENTRAL_DB), ví dụ postgresql://quantri@127.0.0.1/loaxa",
                "needs --db URL (or LOAXA_CENTRAL_DB), e.g. postgresql://admin@127.0.0.1/loaxa",
            )
        )
        .map_err(io)?;
        return Err(Failure::Invalid);
    };
    let mut target = match Target::parse(&db, lang) {
        Ok(t) => t,
        Err(why) => {
            writeln!(err, "loaxa: {why}").map_err(io)?;
            return Err(Failure::Invalid);
        }
    };
    if target.config.get_password().is_none() {
        if let Some(p) = ctx.env.get("PGPASSWORD") {
            target.config.password(p.as_str());
        }
    }
    let fail = |e: CentralError| match e {
        CentralError::BadStationId(_)
        | CentralError::NoReason
        | CentralError::NoStation(_)
        | CentralError::NotFlagged(_)
        | CentralError::NotLocated(_) => {
            let _ = writeln!(std::io::stderr(), "loaxa: {}", e.text(lang));
            Failure::Invalid
        }
        other => Failure::Runtime(other.text(lang)),
    };
    let rt = runtime()?;
    rt.block_on(async {
        let client = central::connect(&target).await.map_err(fail)?;
        match action {
            CentralAction::Init => {
                let (from, to) = central::init(&target, &client).await.map_err(fail)?;
                let text = if from == to {
                    tr!(lang, "lược đồ đã ở phiên bản {to}", "the schema is at version {to} already")
                } else {
                    tr!(lang, "lược đồ: phiên bản {from} → {to}", "schema: version {from} → {to}")
                };
                writeln!(out, "{} ({})", text, target.display).map_err(io)
            }
            CentralAction::AddStation {
                id,
                name,
                password_file,
            } => {
                let (login, password) =
                    central::add_station(&target, &client, &id, name.as_deref())
                        .await
                        .map_err(fail)?;
                match password_file {
                    Some(file) => {
                        let path = ctx.cwd.join(file);
                        write_secret(&path, &password)
                            .map_err(|e| Failure::Runtime(format!("{}: {e}", path.display())))?;
                        writeln!(
                            out,
                            "{}",
                            tr!(
                                lang,
                                "đã thêm đài {id}: tài khoản {login}, mật khẩu trong {} — chép tệp này sang máy của đài và ghi vào [sync] password_file",
                                "station {id} added: login {login}, password in {} — copy the file to the station and name it in [sync] password_file",
                                path.display()
                            )
                        )
                        .map_err(io)
                    }
                    None => writeln!(
                        out,
                        "{}",
                        tr!(
                            lang,
                            "đã thêm đài {id}: tài khoản {login}, mật khẩu {password} (chỉ hiện lần này)",
                            "station {id} added: login {login}, password {password} (shown this once)"
                        )
                    )
                    .map_err(io),
                }
            }
            CentralAction::Report {
                month,
                year,
                stations,
                silent_since,
                format,
                out: file,
            } => {
                let (from, to, label) = match (month, year) {
                    (Some(m), _) => match crate::report::Period::month(&m) {
                        Some(p) => {
                            let (from, _) = p.days();
                            (from, from, p.label(lang))
                        }
                        None => {
                            writeln!(err, "{}", tr!(lang, "tháng không hợp lệ «{m}»: dùng 2025-09", "invalid month “{m}”: use 2025-09")).map_err(io)?;
                            return Err(Failure::Invalid);
                        }
                    },
                    (None, Some(y)) => match (
                        NaiveDate::from_ymd_opt(y, 1, 1),
                        NaiveDate::from_ymd_opt(y, 12, 1),
                    ) {
                        (Some(a), Some(b)) => (a, b, tr!(lang, "năm {y}", "{y}")),
                        _ => return Err(Failure::Invalid),
                    },
                    (None, None) => {
                        // The province's month (its zone is Vietnam's, as the schema's default).
                        let today = ctx.now.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive();
                        let first = chrono::Datelike::with_day(&today, 1).unwrap_or(today);
                        let label = crate::report::Period::Month {
                            year: chrono::Datelike::year(&first),
                            month: chrono::Datelike::month(&first),
                        }
                        .label(lang);
                        (first, first, label)
                    }
                };
                let since = silent_since
                    .unwrap_or_else(|| (ctx.now - chrono::Duration::days(7)).date_naive());
                let r = central::report::build(
                    &target,
                    &client,
                    (from, to),
                    label,
                    &stations,
                    since,
                    lang,
                )
                .await
                .map_err(fail)?;
                let bytes = render(&r, format)?;
                match file {
                    Some(f) => {
                        let path = ctx.cwd.join(f);
                        std::fs::write(&path, &bytes)
                            .map_err(|e| Failure::Runtime(format!("{}: {e}", path.display())))
                    }
                    None => out.write_all(&bytes).map_err(io),
                }
            }
            CentralAction::Verify { stations, full } => {
                let checks = central::verify(&target, &client, &stations, full)
                    .await
                    .map_err(fail)?;
                let mut broken = false;
                for c in &checks {
                    let state = match (&c.problem, &c.flag) {
                        (Some(p), _) => {
                            broken = true;
                            tr!(lang, "HỎNG: {}", "BROKEN: {}", p.text(lang))
                        }
                        (None, Some(f)) => {
                            broken = true;
                            tr!(
                                lang,
                                "nguyên vẹn, nhưng BỊ CẢNH BÁO: {} ({} lần rẽ nhánh được lưu làm bằng chứng)",
                                "intact, but FLAGGED: {} ({} fork(s) kept as evidence)",
                                f.text(lang),
                                c.forks
                            )
                        }
                        (None, None) => lang.pick("nguyên vẹn", "intact").to_string(),
                    };
                    let walked = if c.from > 0 {
                        tr!(
                            lang,
                            " (từ điểm đã kiểm tra ở sự kiện {})",
                            " (from the checkpoint at event {})",
                            c.from
                        )
                    } else {
                        String::new()
                    };
                    let readmitted = if c.readmissions > 0 {
                        tr!(
                            lang,
                            "; đã cho gửi lại {} lần",
                            "; re-admitted {} time(s)",
                            c.readmissions
                        )
                    } else {
                        String::new()
                    };
                    writeln!(
                        out,
                        "{}: {} {}{walked}, {} {} — {state}{readmitted}",
                        c.station,
                        c.events,
                        lang.pick("sự kiện", "events"),
                        lang.pick("mã băm cuối", "head"),
                        c.head
                    )
                    .map_err(io)?;
                }
                if broken {
                    Err(Failure::Broken)
                } else {
                    Ok(())
                }
            }
            CentralAction::Readmit { id, reason } => {
                let done = central::readmit(&target, &client, &id, &reason)
                    .await
                    .map_err(fail)?;
                writeln!(
                    out,
                    "{}",
                    tr!(
                        lang,
                        "đã cho đài {id} gửi lại từ sự kiện {}: {} sự kiện tỉnh giữ trước đây được chuyển vào bằng chứng, nhận {} sự kiện của đài; tỉnh giữ đến sự kiện {}",
                        "station {id} re-admitted from event {}: the {} event(s) the province held from there moved to the evidence, {} of the station's taken; the province holds up to event {}",
                        done.at_seq,
                        done.replaced,
                        done.accepted,
                        done.head_seq
                    )
                )
                .map_err(io)
            }
        }
    })
}

/// Writes a secret readable by its owner only.
fn write_secret(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    o.mode(0o600);
    let mut f = o.open(path)?;
    writeln!(f, "{secret}")
}
