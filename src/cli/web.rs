//! `loaxa web`: runs the console, which is its own program (`loaxa-web`, installed beside
//! `loaxa`) so the airing daemon carries none of the web stack. The station flags given to
//! `loaxa` are passed on.

use super::*;

pub(super) fn web(
    ctx: &Context,
    args: &[std::ffi::OsString],
    err: &mut dyn Write,
) -> Result<(), Failure> {
    let lang = ctx
        .overrides
        .language
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_default();
    let exe = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.join("loaxa-web")))
        .filter(|p| p.is_file());
    let Some(exe) = exe else {
        writeln!(
            err,
            "{}",
            lang.pick(
                "không tìm thấy chương trình loaxa-web bên cạnh loaxa: hãy cài lại gói loaxa",
                "loaxa-web is not installed beside loaxa: reinstall the loaxa package",
            )
        )
        .map_err(io)?;
        return Err(Failure::Broken);
    };
    let mut cmd = std::process::Command::new(&exe);
    if let Some(c) = &ctx.overrides.config {
        cmd.arg("--config").arg(c);
    }
    if let Some(l) = &ctx.overrides.language {
        cmd.arg("--lang").arg(l);
    }
    cmd.args(args).current_dir(&ctx.cwd);
    // Replaced, not a child: the service manager and signals see the console itself.
    use std::os::unix::process::CommandExt as _;
    let e = cmd.exec();
    Err(Failure::Runtime(format!("{}: {e}", exe.display())))
}
