//! Help in the operator's language: clap's derive gives English; for Vietnamese every
//! about and help string, and the headings, are replaced. The language is decided before the
//! command line is parsed.

use crate::config::Overrides;
use crate::lang::Lang;

/// The language for help and usage errors, decided before the command line is parsed:
/// `--lang`, then `LOAXA_LANGUAGE`, then the station's configuration, then Vietnamese.
pub(super) fn help_language() -> Lang {
    let args: Vec<String> = std::env::args().collect();
    let flag = args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--lang=")
            .map(str::to_string)
            .or_else(|| (a == "--lang").then(|| args.get(i + 1).cloned()).flatten())
    });
    if let Some(l) = flag.as_deref().and_then(Lang::parse) {
        return l;
    }
    if let Some(l) = std::env::var("LOAXA_LANGUAGE")
        .ok()
        .as_deref()
        .and_then(Lang::parse)
    {
        return l;
    }
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            crate::config::load(&Overrides::default(), &crate::config::environment(), &cwd).ok()
        })
        .map(|c| c.language)
        .unwrap_or_default()
}

/// Vietnamese help: clap's derive texts are English, so for `vi` every about and help
/// string, and the headings, are replaced.
pub(super) fn localize(cmd: clap::Command, lang: Lang) -> clap::Command {
    if lang == Lang::En {
        return cmd;
    }
    let template = "{about-with-newline}\nCách dùng: {usage}\n\n{all-args}{after-help}";
    let common = |c: clap::Command| {
        c.help_template(template)
            .mut_args(|a| {
                if a.is_positional() {
                    a.help_heading("Tham số")
                } else {
                    a.help_heading("Tùy chọn")
                }
            })
            .next_help_heading("Tùy chọn")
            .subcommand_help_heading("Lệnh")
            .disable_help_flag(true)
            .arg(
                clap::Arg::new("help")
                    .short('h')
                    .long("help")
                    .action(clap::ArgAction::Help)
                    .help("In trợ giúp này")
                    .global(true),
            )
    };
    let output =
        "Đầu ra âm thanh: default, tên thiết bị, wav:ĐƯỜNG_DẪN hoặc null (hoặc LOAXA_OUTPUT)";
    common(cmd)
        .about("loaxa (loa xã): phát các bản tin theo lịch của đài truyền thanh xã đúng từng giây và ghi nhật ký mọi lần phát")
        .disable_help_subcommand(true)
        .mut_arg("config", |a| {
            a.help("Tệp cấu hình của đài (mặc định: config/loaxa.toml ở thư mục này hoặc thư mục cha, rồi /etc/loaxa/loaxa.toml; hoặc LOAXA_CONFIG)")
        })
        .mut_arg("lang", |a| a.help("Ngôn ngữ: vi (mặc định) hoặc en (hoặc LOAXA_LANGUAGE)"))
        .disable_version_flag(true)
        .arg(
            clap::Arg::new("version")
                .short('V')
                .long("version")
                .action(clap::ArgAction::Version)
                .help("In phiên bản"),
        )
        .mut_subcommand("run", |c| {
            common(c)
                .about("Chạy đài: phát theo lịch, ghi nhật ký mọi lần phát (chạy ở tiền cảnh; Ctrl-C để dừng)")
                .mut_arg("output", |a| a.help(output))
                .mut_arg("rehearse", |a| a.help("Phát thử mỗi phiên một lần ngay khi khởi động (ghi là phát thủ công)"))
        })
        .mut_subcommand("validate", |c| {
            common(c).about("Kiểm tra cấu hình, mọi lịch phát và mọi tệp âm thanh; báo tất cả lỗi")
        })
        .mut_subcommand("next", |c| {
            common(c)
                .about("Xem các lần phát sắp tới: giờ nào, bài nào (theo giờ của đài)")
                .mut_arg("days", |a| a.help("Xem trước bao nhiêu ngày"))
        })
        .mut_subcommand("log", |c| {
            common(c)
                .about("Xem nhật ký: đã phát gì, chưa phát được gì và vì sao")
                .mut_subcommand("verify", |v| {
                    common(v)
                        .about("Kiểm tra chuỗi băm của nhật ký: báo sự kiện đầu tiên bị sửa, xóa, chèn hoặc đổi chỗ (mã thoát 1 nếu hỏng)")
                        .mut_arg("pin", |a| a.help("Mốc in trên báo cáo, dạng SỐ_SỰ_KIỆN:MÃ_BĂM: kiểm tra nhật ký vẫn đúng là lịch sử báo cáo đã dựa vào"))
                })
                .mut_arg("from", |a| a.help("Từ ngày (NĂM-THÁNG-NGÀY, giờ của đài). Mặc định: 7 ngày trước"))
                .mut_arg("to", |a| a.help("Đến hết ngày (NĂM-THÁNG-NGÀY). Mặc định: hôm nay"))
                .mut_arg("day", |a| a.help("Xem một ngày theo dòng thời gian: kế hoạch và thực tế, từng bài"))
                .mut_arg("plan", |a| a.help("Chỉ một kế hoạch (mã)"))
                .mut_arg("slot", |a| a.help("Chỉ một phiên (mã)"))
                .mut_arg("topic", |a| a.help("Chỉ một nội dung/chủ đề (mã)"))
                .mut_arg("outcome", |a| a.help("Chỉ một kết quả: completed, partial, failed, missed, interrupted hoặc unfinished"))
                .mut_arg("format", |a| a.help("Dạng in: table (bảng), csv hoặc json"))
        })
        .mut_subcommand("report", |c| {
            common(c)
                .about("Báo cáo kết quả phát sóng: kế hoạch và thực tế theo chủ đề và phiên, tỷ lệ hoàn thành và điểm, các lần không phát đủ và lý do, các bài đã phát")
                .mut_arg("month", |a| a.help("Tháng: 2025-09. Mặc định: tháng này"))
                .mut_arg("quarter", |a| a.help("Quý: 2025-Q3"))
                .mut_arg("from", |a| a.help("Từ ngày (NĂM-THÁNG-NGÀY), đi cùng --to"))
                .mut_arg("to", |a| a.help("Đến hết ngày (NĂM-THÁNG-NGÀY), đi cùng --from"))
                .mut_arg("plan", |a| a.help("Chỉ một kế hoạch (mã của nó)"))
                .mut_arg("format", |a| a.help("Dạng: table (bảng), csv, json, html (in ra giấy/PDF), xlsx (Excel)"))
                .mut_arg("out", |a| a.help("Ghi ra tệp này thay vì đầu ra chuẩn (xlsx khi in ra màn hình thì mặc định ghi vào bao-cao-KỲ.xlsx)"))
        })
        .mut_subcommand("doctor", |c| {
            common(c).about("Kiểm tra toàn bộ: cấu hình, lịch phát, thư viện bài, đầu ra âm thanh, nhật ký, dung lượng đĩa, đồng bộ giờ, dịch vụ; kèm cách khắc phục")
        })
        .mut_subcommand("install", |c| {
            common(c)
                .about("Cài loaxa làm dịch vụ hệ thống (chạy với quyền root): chương trình, dịch vụ systemd, người dùng loaxa, /etc/loaxa/loaxa.toml và thư mục đài /var/lib/loaxa kèm kế hoạch mẫu")
                .mut_arg("root", |a| a.help("Cài vào thư mục này thay vì / (để đóng gói); không đụng gì bên ngoài"))
                .mut_arg("no_start", |a| a.help("Bật dịch vụ nhưng chưa chạy ngay"))
                .mut_arg("packaged", |a| a.help("Bước sau khi cài gói Debian: gói đã đặt chương trình, dịch vụ và tệp sysusers; làm nốt phần còn lại (người dùng, cấu hình, thư mục đài, bật dịch vụ)"))
        })
        .mut_subcommand("status", |c| {
            common(c).about("Trạng thái: đài có đang chạy không, đang phát gì, sắp phát gì, các hàng đợi và bài trong đó, lịch phát bị từ chối, tình trạng đầu ra")
        })
        .mut_subcommand("play", |c| {
            common(c)
                .about("Phát ngay một tệp (thử loa), ghi là phát thủ công. Nếu loaxa đang chạy, tệp được giao cho nó và phát ngay khi không có gì đang phát; nếu không, phát tại đây qua đầu ra đã cấu hình")
                .mut_arg("file", |a| a.help("Tệp âm thanh (tính từ audio/, hoặc đường dẫn bất kỳ)"))
                .mut_arg("output", |a| a.help(output))
                .mut_arg("now", |a| a.help("Phát sớm nhất có thể (mặc định); đi cùng --priority emergency thì ngắt phiên đang phát"))
                .mut_arg("priority", |a| a.help("emergency: giao cho loaxa đang chạy để ngắt phiên đang phát và phát lặp lại như tin khẩn cấp; nếu loaxa không chạy thì phát tại đây"))
        })
}

#[cfg(test)]
mod tests {
    use super::super::Cli;
    use super::*;
    use clap::CommandFactory;

    /// Every command and every argument an operator can type has its help in both languages
    /// (clap's derive gives the English; `localize` must give the Vietnamese beside it).
    #[test]
    fn every_command_and_argument_has_vietnamese_and_english_help() {
        fn walk(en: &clap::Command, vi: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let about = |c: &clap::Command| c.get_about().map(std::string::ToString::to_string);
            match (about(en), about(vi)) {
                (Some(e), Some(v)) if e != v => {}
                (e, v) => missing.push(format!("{path}: about en={e:?} vi={v:?}")),
            }
            for a in en.get_arguments() {
                let id = a.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                let e = a.get_help().map(std::string::ToString::to_string);
                let v = vi
                    .get_arguments()
                    .find(|b| b.get_id() == a.get_id())
                    .and_then(|b| b.get_help().map(std::string::ToString::to_string));
                match (e, v) {
                    (Some(e), Some(v)) if e != v => {}
                    (e, v) => missing.push(format!("{path} --{id}: en={e:?} vi={v:?}")),
                }
            }
            for sub in en.get_subcommands() {
                let name = sub.get_name();
                match vi.get_subcommands().find(|s| s.get_name() == name) {
                    Some(v) => walk(sub, v, &format!("{path} {name}"), missing),
                    None => missing.push(format!("{path} {name}: no Vietnamese command")),
                }
            }
        }
        let en = Cli::command();
        let vi = localize(Cli::command(), Lang::Vi);
        let mut missing = Vec::new();
        walk(&en, &vi, "loaxa", &mut missing);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}
