//! `loaxa install`: loaxa as a system service, in one step.

use super::*;

pub(super) fn install(
    ctx: &Context,
    root: &Path,
    no_start: bool,
    packaged: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let lang = ctx.early_lang();
    let done = crate::install::install(root, no_start, packaged, lang)
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    for line in done {
        writeln!(out, "{line}").map_err(io)?;
    }
    writeln!(
        out,
        "{}",
        tr!(
            lang,
            "xong. Bài phát: /var/lib/loaxa/audio, lịch phát: /var/lib/loaxa/schedules (đổi tên tệp .toml.example thành .toml để dùng lịch mẫu), cấu hình: /etc/loaxa/loaxa.toml",
            "done. Clips: /var/lib/loaxa/audio, schedules: /var/lib/loaxa/schedules (rename the .toml.example file to .toml to use the example plan), configuration: /etc/loaxa/loaxa.toml"
        )
    )
    .map_err(io)
}
