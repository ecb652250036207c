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
    let fail = |e: CentralError| failure(&e, lang);
    if let CentralAction::Web {
        listen,
        action: None,
    } = &action
    {
        // The console runs its own runtime, with its own connections, until stopped.
        let listen = listen.unwrap_or_else(|| {
            crate::province::DEFAULT_LISTEN
                .parse()
                .expect("the default address parses")
        });
        return crate::province::run(target, listen, lang)
            .map_err(|e| Failure::Runtime(e.to_string()));
    }
    let rt = runtime()?;
    rt.block_on(async {
        let client = central::connect(&target).await.map_err(fail)?;
        match action {
            CentralAction::Web {
                action: Some(super::args::ConsoleAction::Passwd { user, role }),
                ..
            } => {
                let role = central::console::ConsoleRole::parse(&role).ok_or(Failure::Invalid)?;
                let password = crate::web::read_password(lang).map_err(Failure::Runtime)?;
                if password.chars().count() < 8 {
                    writeln!(
                        err,
                        "{}",
                        lang.pick(
                            "mật khẩu phải dài ít nhất 8 ký tự",
                            "a password is at least 8 characters"
                        )
                    )
                    .map_err(io)?;
                    return Err(Failure::Invalid);
                }
                let hash = crate::web::hash_password(&password).map_err(Failure::Runtime)?;
                let new = central::console::set_account(&target, &client, &user, role, &hash)
                    .await
                    .map_err(fail)?;
                let said = if new {
                    tr!(
                        lang,
                        "đã tạo tài khoản {user} ({}) của bảng điều khiển tỉnh",
                        "province console account {user} ({}) created",
                        role.label(lang)
                    )
                } else {
                    tr!(
                        lang,
                        "đã đổi mật khẩu và quyền của tài khoản {user} ({})",
                        "account {user}'s password and role changed ({})",
                        role.label(lang)
                    )
                };
                writeln!(out, "{said}").map_err(io)
            }
            CentralAction::Web { action: None, .. } => Ok(()),
            CentralAction::Locate { id, at } => {
                let Some(place) = central::stations::parse_location(&at) else {
                    writeln!(
                        err,
                        "{}",
                        tr!(
                            lang,
                            "vị trí «{at}» không hợp lệ: VĨ_ĐỘ,KINH_ĐỘ, ví dụ 19.8067,105.7852",
                            "invalid location “{at}”: LATITUDE,LONGITUDE, e.g. 19.8067,105.7852"
                        )
                    )
                    .map_err(io)?;
                    return Err(Failure::Invalid);
                };
                central::stations::locate(&target, &client, &id, place)
                    .await
                    .map_err(fail)?;
                writeln!(
                    out,
                    "{}",
                    tr!(lang, "đã ghi vị trí của {id}", "{id} located")
                )
                .map_err(io)
            }
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
            CentralAction::Bulletin { action } => {
                bulletin(ctx, &target, &client, action, lang, out, err).await
            }
            CentralAction::Group { action } => {
                let (name, stations, add) = match action {
                    GroupAction::Add { name, stations } => (name, stations, true),
                    GroupAction::Remove { name, stations } => (name, stations, false),
                };
                let n = central::bulletin::group(&target, &client, &name, &stations, add)
                    .await
                    .map_err(fail)?;
                let text = if add {
                    tr!(lang, "nhóm {name}: thêm {n} đài", "group {name}: {n} station(s) added")
                } else {
                    tr!(lang, "nhóm {name}: bỏ {n} đài", "group {name}: {n} station(s) removed")
                };
                writeln!(out, "{text}").map_err(io)
            }
            CentralAction::Stations { format } => {
                let states = central::stations::list(&target, &client, ctx.now, lang)
                    .await
                    .map_err(fail)?;
                let text = match format {
                    NextFormat::Json => serde_json::to_string_pretty(&states).unwrap_or_default(),
                    NextFormat::Table => central::stations::to_text(&states, lang),
                };
                writeln!(out, "{}", text.trim_end()).map_err(io)
            }
            CentralAction::Readmit { id, reason } => {
                let done = central::readmit(&target, &client, &id, &reason, None)
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

/// A bulletin as the command line gives it; its times in the province's zone.
fn draft_of<'a>(
    a: BulletinArgs,
    path: &'a Path,
    lang: Lang,
    err: &mut dyn Write,
) -> Result<crate::central::bulletin::Draft<'a>, Failure> {
    let Some(level) = crate::journal::Priority::parse(&a.level) else {
        writeln!(
            err,
            "{}",
            tr!(
                lang,
                "mức «{}» không có: dùng thuong, uu-tien hoặc khan-cap",
                "no level “{}”: use thuong, uu-tien or khan-cap",
                a.level
            )
        )
        .map_err(io)?;
        return Err(Failure::Invalid);
    };
    let mut instant = |s: Option<String>| -> Result<Option<DateTime<Utc>>, Failure> {
        let Some(s) = s else { return Ok(None) };
        match crate::central::bulletin::province_time(&s) {
            Some(t) => Ok(Some(t)),
            None => {
                let _ = writeln!(
                    err,
                    "{}",
                    tr!(
                        lang,
                        "thời điểm không hợp lệ «{s}»: dùng \"2026-12-06 10:00\" (giờ Việt Nam) hoặc RFC 3339",
                        "invalid time “{s}”: use \"2026-12-06 10:00\" (Vietnam time) or RFC 3339"
                    )
                );
                Err(Failure::Invalid)
            }
        }
    };
    let (from, until) = (instant(a.from)?, instant(a.until)?);
    Ok(crate::central::bulletin::Draft {
        title: a.title,
        level,
        file: path,
        to: a.to,
        from,
        until,
        at: a.at,
        repeat: a.repeat,
        lang,
    })
}

/// What is said of a bulletin sent.
fn sent(
    p: &crate::central::bulletin::Published,
    level: crate::journal::Priority,
    lang: Lang,
    when: impl Fn(DateTime<Utc>) -> String,
) -> String {
    tr!(
        lang,
        "đã gửi bản tin {} ({}) cho {} đài: {}; tệp {:.1} giây, {} LUFS, SHA-256 {}…; hết hạn {}",
        "bulletin {} ({}) sent to {} station(s): {}; clip {:.1} s, {} LUFS, SHA-256 {}…; ends {}",
        p.id,
        level.label(lang),
        p.stations.len(),
        p.stations.join(", "),
        p.duration_ms as f64 / 1000.0,
        p.loudness_lufs.map_or("–".into(), |l| format!("{l:.1}")),
        &p.sha256[..12.min(p.sha256.len())],
        when(p.until)
    )
}

/// `loaxa central bulletin …`.
async fn bulletin(
    ctx: &Context,
    target: &Target,
    client: &tokio_postgres::Client,
    action: BulletinAction,
    lang: Lang,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    use crate::central::bulletin as b;
    let fail = |e: CentralError| failure(&e, lang);
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let when = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    match action {
        BulletinAction::Publish { bulletin, by } => {
            let path = ctx.cwd.join(&bulletin.file);
            let draft = draft_of(bulletin, &path, lang, err)?;
            let p = b::publish_as(target, client, &draft, by.as_deref(), ctx.now)
                .await
                .map_err(fail)?;
            writeln!(out, "{}", sent(&p, draft.level, lang, when)).map_err(io)
        }
        BulletinAction::Draft { bulletin, by } => {
            let path = ctx.cwd.join(&bulletin.file);
            let draft = draft_of(bulletin, &path, lang, err)?;
            let id = b::draft(target, client, &draft, &by, ctx.now)
                .await
                .map_err(fail)?;
            writeln!(
                out,
                "{}",
                tr!(
                    lang,
                    "đã lưu bản nháp {id} ({}), chưa gửi cho ai: cần người khác duyệt (loaxa central bulletin approve {id} --by TÊN)",
                    "draft {id} ({}) saved, sent to no one: someone else must approve it (loaxa central bulletin approve {id} --by NAME)",
                    draft.level.label(lang)
                )
            )
            .map_err(io)
        }
        BulletinAction::Approve { id, by } => {
            let p = b::approve(target, client, id, &by, ctx.now)
                .await
                .map_err(fail)?;
            let level = b::show(target, client, p.id)
                .await
                .map_err(fail)?
                .summary
                .level;
            writeln!(out, "{}", sent(&p, level, lang, when)).map_err(io)
        }
        BulletinAction::List => {
            let list = b::list(target, client).await.map_err(fail)?;
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        s.title.clone(),
                        s.level.label(lang).to_string(),
                        when(s.from),
                        when(s.until),
                        s.addressed.join(" "),
                        format!("{}/{}", s.received, s.stations),
                        format!("{}/{}", s.aired, s.stations),
                        s.withdrawn_at
                            .map(|at| {
                                format!(
                                    "{} ({})",
                                    when(at),
                                    s.withdraw_reason.clone().unwrap_or_default()
                                )
                            })
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            if rows.is_empty() {
                return writeln!(
                    out,
                    "{}",
                    lang.pick("(chưa có bản tin nào)", "(no bulletins yet)")
                )
                .map_err(io);
            }
            let cols = [
                lang.pick("Số", "Id"),
                lang.pick("Tiêu đề", "Title"),
                lang.pick("Mức", "Level"),
                lang.pick("Từ", "From"),
                lang.pick("Đến", "Until"),
                lang.pick("Gửi cho", "To"),
                lang.pick("Đã nhận", "Received"),
                lang.pick("Đã phát", "Aired"),
                lang.pick("Thu hồi", "Withdrawn"),
            ];
            write!(out, "{}", crate::report::text_table(&cols, &rows)).map_err(io)
        }
        BulletinAction::Show { id, format } => {
            let d = b::show(target, client, id).await.map_err(fail)?;
            if matches!(format, NextFormat::Json) {
                return writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&d).unwrap_or_default()
                )
                .map_err(io);
            }
            let s = &d.summary;
            writeln!(
                out,
                "{} {}: «{}» — {}, {} → {}, {} {}",
                lang.pick("Bản tin", "Bulletin"),
                s.id,
                s.title,
                s.level.label(lang),
                when(s.from),
                when(s.until),
                lang.pick("gửi bởi", "published by"),
                s.published_by
            )
            .map_err(io)?;
            writeln!(
                out,
                "{}: {:.1} s, {} LUFS, SHA-256 {}",
                lang.pick("Tệp", "Clip"),
                d.duration_ms as f64 / 1000.0,
                d.loudness_lufs.map_or("–".into(), |l| format!("{l:.1}")),
                d.sha256
            )
            .map_err(io)?;
            if let Some(at) = s.withdrawn_at {
                writeln!(
                    out,
                    "{}",
                    tr!(
                        lang,
                        "THU HỒI lúc {} bởi {}: {}",
                        "WITHDRAWN at {} by {}: {}",
                        when(at),
                        s.withdrawn_by.clone().unwrap_or_default(),
                        s.withdraw_reason.clone().unwrap_or_default()
                    )
                )
                .map_err(io)?;
            }
            let count = |state: &str| d.deliveries.iter().filter(|x| x.state() == state).count();
            writeln!(
                out,
                "{}",
                tr!(
                    lang,
                    "{} đài: phát đủ {}, đã nhận chưa phát {}, từ chối {}, hết hạn {}, thu hồi {}, chưa có tin {}",
                    "{} station(s): aired in full {}, received not yet aired {}, refused {}, expired {}, withdrawn {}, not heard from {}",
                    d.deliveries.len(),
                    count("aired"),
                    count("received") + count("aired_in_part"),
                    count("refused"),
                    count("expired"),
                    count("withdrawn"),
                    count("silent")
                )
            )
            .map_err(io)?;
            let rows: Vec<Vec<String>> = d
                .deliveries
                .iter()
                .map(|x| {
                    vec![
                        x.station.clone(),
                        crate::central::bulletin::delivery_label(x.state(), lang).to_string(),
                        x.received_at.clone().unwrap_or_default(),
                        x.aired
                            .iter()
                            .map(|a| {
                                format!(
                                    "{} {} {:.1}/{:.1} s{}",
                                    a.recorded_at,
                                    crate::journal::Outcome::parse(&a.outcome)
                                        .map_or(a.outcome.clone(), |o| o.label(lang).to_string()),
                                    a.played_ms as f64 / 1000.0,
                                    a.duration_ms as f64 / 1000.0,
                                    a.peak_dbfs
                                        .map_or(String::new(), |p| format!(", {p:.1} dBFS"))
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                        x.ended
                            .as_ref()
                            .map(|(_, at, why)| format!("{at}: {why}"))
                            .unwrap_or_default(),
                        x.last_contact.map(when).unwrap_or_default(),
                    ]
                })
                .collect();
            let cols = [
                lang.pick("Đài", "Station"),
                lang.pick("Trạng thái", "State"),
                lang.pick("Nhận lúc", "Received"),
                lang.pick("Đã phát", "Aired"),
                lang.pick(
                    "Từ chối / hết hạn / thu hồi",
                    "Refused / expired / withdrawn",
                ),
                lang.pick("Liên lạc lần cuối", "Last contact"),
            ];
            write!(out, "{}", crate::report::text_table(&cols, &rows)).map_err(io)
        }
        BulletinAction::Withdraw { id, reason } => {
            b::withdraw(target, client, id, &reason, None)
                .await
                .map_err(fail)?;
            writeln!(
                out,
                "{}",
                tr!(
                    lang,
                    "đã thu hồi bản tin {id}: đài chưa phát thì bỏ, đang phát thì ngắt",
                    "bulletin {id} withdrawn: removed where it waits, cut where it is on air"
                )
            )
            .map_err(io)
        }
    }
}

/// How a `central` command fails: a mistake in what was asked is said and exits 2; the
/// database or the link failing exits 1.
fn failure(e: &CentralError, lang: Lang) -> Failure {
    if e.is_input() {
        let _ = writeln!(std::io::stderr(), "loaxa: {}", e.text(lang));
        Failure::Invalid
    } else {
        Failure::Runtime(e.text(lang))
    }
}
