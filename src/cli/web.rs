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
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.join("loaxa-web")));
    let Some(exe) = beside.clone().filter(|p| p.is_file()) else {
        writeln!(
            err,
            "{}",
            tr!(
                lang,
                "không tìm thấy chương trình bảng điều khiển {}: hãy cài lại gói loaxa (hoặc `cargo build` nếu chạy từ mã nguồn)",
                "the console program {} is missing: reinstall the loaxa package (or `cargo build` when running from source)",
                beside.map_or_else(|| "loaxa-web".into(), |p| p.display().to_string())
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
