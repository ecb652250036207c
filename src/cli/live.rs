//! `loaxa live start|stop`: the station's microphone on air now. The running daemon airs it,
//! as it airs everything: this command hands the request over through the console's mailbox
//! (journaled with who asked) and touches neither the output nor the microphone.

use super::*;

/// `start`: the priority to go live at; `None` ends the live broadcast.
pub(super) fn live(
    ctx: &Context,
    start: Option<crate::journal::Priority>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    let config = ctx.config(err)?;
    let lang = config.language;
    let Some(input) = config.live_input.as_deref() else {
        writeln!(err, "{}", crate::config::no_live_input(lang)).map_err(io)?;
        return Err(Failure::Invalid);
    };
    let running = crate::status::read(&crate::status::path_for(&config.journal))
        .is_some_and(|s| s.is_live(ctx.now));
    if !running {
        writeln!(err, "{}", crate::config::live_needs_daemon(lang)).map_err(io)?;
        return Err(Failure::Runtime(
            lang.pick("loaxa không chạy", "loaxa is not running").into(),
        ));
    }
    let who = std::env::var("USER").unwrap_or_default();
    let action = crate::mailbox::Action {
        at: ctx.now,
        user: if who.is_empty() {
            "loaxa live".to_string()
        } else {
            format!("{who} (loaxa live)")
        },
        from: "local".into(),
        what: if start.is_some() {
            crate::mailbox::What::LiveStart
        } else {
            crate::mailbox::What::LiveStop
        },
        file: None,
        sha256: None,
        detail: start.map(|p| p.code().to_string()),
        bulletin: None,
        feed: None,
    };
    crate::mailbox::hand(&config.audio_dir, &action)
        .map_err(|e| Failure::Runtime(format!("{}: {e}", config.audio_dir.display())))?;
    let said = match start {
        Some(p) => tr!(
            lang,
            "đã yêu cầu loaxa phát trực tiếp từ {input} ({}); dừng bằng `loaxa live stop`",
            "loaxa was asked to go live from {input} ({}); end it with `loaxa live stop`",
            p.label(lang)
        ),
        None => lang
            .pick(
                "đã yêu cầu loaxa dừng phát trực tiếp",
                "loaxa was asked to end the live broadcast",
            )
            .into(),
    };
    writeln!(out, "{said}").map_err(io)?;
    Ok(())
}
