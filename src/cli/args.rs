//! The command line's arguments, each with its help in Vietnamese beside its English: `h`
//! picks the language decided before parsing (`help::help_language`), so `loaxa --help` and
//! clap's usage errors speak the operator's language.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};

use crate::lang::Lang;

/// Help is in English (else Vietnamese): set once, before the command line is parsed.
static ENGLISH: AtomicBool = AtomicBool::new(false);

/// Sets the language of the help texts built from here on.
pub(super) fn set_help_language(lang: Lang) {
    ENGLISH.store(lang == Lang::En, Ordering::Relaxed);
}

/// One help text in both languages.
fn h(vi: &'static str, en: &'static str) -> &'static str {
    if ENGLISH.load(Ordering::Relaxed) {
        en
    } else {
        vi
    }
}

const OUTPUT_VI: &str =
    "Đầu ra âm thanh: default, tên thiết bị, wav:ĐƯỜNG_DẪN hoặc null (hoặc LOAXA_OUTPUT)";
const OUTPUT_EN: &str =
    "Where audio goes: default, a device name, wav:PATH or null (also LOAXA_OUTPUT)";

#[derive(Debug, Parser)]
#[command(
    name = "loaxa",
    version,
    about = h(
        "loaxa (loa xã): phát các bản tin theo lịch của đài truyền thanh xã đúng từng giây và ghi nhật ký mọi lần phát",
        "loaxa (loa xã): airs a commune radio station's scheduled announcements on the second and journals every broadcast",
    )
)]
pub struct Cli {
    #[arg(long, global = true, value_name = "FILE", help = h(
        "Tệp cấu hình của đài (mặc định: config/loaxa.toml ở thư mục này hoặc thư mục cha, rồi /etc/loaxa/loaxa.toml; hoặc LOAXA_CONFIG)",
        "The station configuration (default: config/loaxa.toml in this directory or a parent, else /etc/loaxa/loaxa.toml; also LOAXA_CONFIG)",
    ))]
    pub(super) config: Option<PathBuf>,
    #[arg(long, global = true, value_name = "vi|en", help = h(
        "Ngôn ngữ: vi (mặc định) hoặc en (hoặc LOAXA_LANGUAGE)",
        "Language of messages: vi (default) or en (also LOAXA_LANGUAGE)",
    ))]
    pub(super) lang: Option<String>,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    #[command(about = h(
        "Chạy đài: phát theo lịch, ghi nhật ký mọi lần phát (chạy ở tiền cảnh; Ctrl-C để dừng)",
        "Run the station in the foreground: air the schedules, journal every broadcast",
    ))]
    Run {
        #[arg(long, value_name = "OUTPUT", help = h(OUTPUT_VI, OUTPUT_EN))]
        output: Option<String>,
        #[arg(long, help = h(
            "Phát thử mỗi phiên một lần ngay khi khởi động (ghi là phát thủ công)",
            "First air every slot once, back to back, as a journaled manual rehearsal",
        ))]
        rehearse: bool,
    },
    #[command(about = h(
        "Kiểm tra cấu hình, mọi lịch phát và mọi tệp âm thanh; báo tất cả lỗi",
        "Check the configuration, every schedule and every referenced clip; report all problems",
    ))]
    Validate {
        #[arg(long, help = h(
            "Thử kết nối mọi nguồn tiếp sóng (vài giây mỗi nguồn) xem có trả lời không",
            "Also try every relay source for a few seconds: does it answer with audio",
        ))]
        online: bool,
    },
    #[command(about = h(
        "Xem các lần phát sắp tới: giờ nào, bài nào, và lần nào sẽ không phát vì sao (theo giờ của đài)",
        "Show what will air, when and which clips, and what will not and why, in the station's time zone",
    ))]
    Next {
        #[arg(long, default_value_t = 2, help = h(
            "Xem trước bao nhiêu ngày",
            "How many days ahead to look",
        ))]
        days: u32,
        #[arg(long, value_enum, default_value_t = NextFormat::Table, help = h(
            "Dạng in: table (bảng) hoặc json (cho phần mềm khác)",
            "Output: table, or json (for other programs)",
        ))]
        format: NextFormat,
    },
    #[command(about = h(
        "Xem nhật ký: đã phát gì, chưa phát được gì và vì sao",
        "Show what aired (and what did not, and why)",
    ))]
    Log {
        #[command(subcommand)]
        action: Option<LogAction>,
        #[command(flatten)]
        args: LogArgs,
    },
    #[command(about = h(
        "Báo cáo kết quả phát sóng: kế hoạch và thực tế theo chủ đề và phiên, tỷ lệ hoàn thành và điểm, các lần không phát đủ và lý do, các bài đã phát",
        "The commune's report: what the plan called for and what aired, per topic and slot, the completion ratio as scored, what did not air in full and why, every clip aired",
    ))]
    Report {
        #[arg(long, conflicts_with_all = ["quarter", "from", "to"], help = h(
            "Tháng: 2025-09. Mặc định: tháng này",
            "A month: 2025-09. Default: this month",
        ))]
        month: Option<String>,
        #[arg(long, conflicts_with_all = ["from", "to"], help = h("Quý: 2025-Q3", "A quarter: 2025-Q3"))]
        quarter: Option<String>,
        #[arg(long, requires = "to", help = h(
            "Từ ngày (NĂM-THÁNG-NGÀY), đi cùng --to",
            "First day (YYYY-MM-DD), with --to",
        ))]
        from: Option<NaiveDate>,
        #[arg(long, requires = "from", help = h(
            "Đến hết ngày (NĂM-THÁNG-NGÀY), đi cùng --from",
            "Last day, inclusive (YYYY-MM-DD), with --from",
        ))]
        to: Option<NaiveDate>,
        #[arg(long, help = h("Chỉ một kế hoạch (mã của nó)", "Only this plan (its id)"))]
        plan: Option<String>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Table, help = h(
            "Dạng: table (bảng), csv, json, html (in ra giấy/PDF), xlsx (Excel)",
            "Output: table, csv, json, html (to print or save as PDF), xlsx (Excel)",
        ))]
        format: ReportFormat,
        #[arg(long, short = 'o', value_name = "FILE", help = h(
            "Ghi ra tệp này thay vì đầu ra chuẩn (xlsx khi in ra màn hình thì mặc định ghi vào bao-cao-KỲ.xlsx)",
            "Write to this file instead of standard output (xlsx on a terminal defaults to bao-cao-PERIOD.xlsx)",
        ))]
        out: Option<PathBuf>,
    },
    #[command(about = h(
        "Kiểm tra toàn bộ: cấu hình, lịch phát, thư viện bài, đầu ra âm thanh, nhật ký, dung lượng đĩa, đồng bộ giờ, dịch vụ; kèm cách khắc phục",
        "Check everything an operator would need to: configuration, schedules, audio library, sound output, journal integrity, disk space, clock sync, the service; with fixes",
    ))]
    Doctor,
    #[command(about = h(
        "Cài loaxa làm dịch vụ hệ thống (chạy với quyền root): chương trình, dịch vụ systemd, người dùng loaxa, /etc/loaxa/loaxa.toml và thư mục đài /var/lib/loaxa kèm kế hoạch mẫu",
        "Install loaxa as a system service (as root): binary, systemd unit, the loaxa user, /etc/loaxa/loaxa.toml and the station folder /var/lib/loaxa with the example plan",
    ))]
    Install {
        #[arg(long, value_name = "DIR", default_value = "/", help = h(
            "Cài vào thư mục này thay vì / (để đóng gói); không đụng gì bên ngoài",
            "Install into this directory instead of / (for packaging); nothing outside it changes",
        ))]
        root: PathBuf,
        #[arg(long, help = h(
            "Bật dịch vụ nhưng chưa chạy ngay",
            "Enable the service but do not start it now",
        ))]
        no_start: bool,
        #[arg(long, help = h(
            "Bước sau khi cài gói Debian: gói đã đặt chương trình, dịch vụ và tệp sysusers; làm nốt phần còn lại (người dùng, cấu hình, thư mục đài, bật dịch vụ)",
            "The Debian package's post-install step: the package already placed the binary, unit and sysusers file; do the rest (user, configuration, station folder, enable)",
        ))]
        packaged: bool,
    },
    #[command(about = h(
        "Trạng thái: đài có đang chạy không, đang phát gì, sắp phát gì, các hàng đợi và bài trong đó, lịch phát bị từ chối, tình trạng đầu ra",
        "Whether the station is running, what is on air, what airs next, the queues and their clips, rejected schedule files and the output's state",
    ))]
    Status,
    #[command(about = h(
        "Phát ngay một tệp (thử loa), ghi là phát thủ công. Nếu loaxa đang chạy, tệp được giao cho nó và phát ngay khi không có gì đang phát; nếu không, phát tại đây qua đầu ra đã cấu hình",
        "Air one file now (a sound check), journaled as manual. With loaxa running, the file is handed to it and airs as soon as nothing is on air; otherwise it airs here, through the configured output",
    ))]
    Play {
        #[arg(help = h(
            "Tệp âm thanh (tính từ audio/, hoặc đường dẫn bất kỳ)",
            "The audio file (relative to audio/, or any path)",
        ))]
        file: PathBuf,
        #[arg(long, value_name = "OUTPUT", help = h(OUTPUT_VI, OUTPUT_EN))]
        output: Option<String>,
        #[arg(long, help = h(
            "Phát sớm nhất có thể (mặc định); đi cùng --priority emergency thì ngắt phiên đang phát",
            "Air as soon as possible (the default; kept for clarity in scripts); with --priority emergency, what is on air is cut",
        ))]
        now: bool,
        #[arg(long, value_enum, default_value_t = PlayPriority::Normal, help = h(
            "emergency: giao cho loaxa đang chạy để ngắt phiên đang phát và phát lặp lại như tin khẩn cấp; nếu loaxa không chạy thì phát tại đây",
            "emergency: hand the file to the running loaxa, which cuts what is on air and repeats it as configured; without a running loaxa it airs here, repeated",
        ))]
        priority: PlayPriority,
    },
    #[command(about = h(
        "Phát trực tiếp từ micro của đài (live_input trong cấu hình) qua loaxa đang chạy: `loaxa live start`, rồi `loaxa live stop`",
        "Go live from the station's microphone (live_input in the configuration) through the running loaxa: `loaxa live start`, then `loaxa live stop`",
    ))]
    Live {
        #[command(subcommand)]
        action: LiveAction,
    },
    #[command(about = h(
        "Gửi nhật ký lên cơ sở dữ liệu của tỉnh ([sync] trong cấu hình), theo thứ tự, tiếp từ sự kiện tỉnh đã nhận",
        "Send the journal to the province's database ([sync] in the configuration), in order, from the last event it acknowledged",
    ))]
    Sync {
        #[arg(long, help = h(
            "Gửi một lượt rồi thoát (mã 0 nếu đã gửi hết)",
            "Send once and exit (0 if everything was sent)",
        ))]
        once: bool,
    },
    #[command(about = h(
        "Phía tỉnh: cơ sở dữ liệu PostgreSQL gom nhật ký của mọi đài (init, add-station, report, verify)",
        "The province's side: the PostgreSQL database holding every station's journal (init, add-station, report, verify)",
    ))]
    Central {
        #[arg(long, global = true, value_name = "URL", env = "LOAXA_CENTRAL_DB", help = h(
            "Địa chỉ cơ sở dữ liệu của tỉnh, ví dụ postgresql://quantri@tinh.example.vn/loaxa (mật khẩu: PGPASSWORD)",
            "The central database, e.g. postgresql://admin@tinh.example.vn/loaxa (password: PGPASSWORD)",
        ))]
        db: Option<String>,
        #[command(subcommand)]
        action: CentralAction,
    },
    #[command(about = h(
        "Bảng điều khiển trên trình duyệt (một tiến trình riêng, mặc định ở http://127.0.0.1:8080/). `loaxa web passwd` đặt mật khẩu; `loaxa web --help` xem thêm",
        "The operator's console in a browser (its own process, by default at http://127.0.0.1:8080/). `loaxa web passwd` sets a password; `loaxa web --help` for more",
    ))]
    Web {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS", help = h(
            "Tham số cho bảng điều khiển: [--listen ĐỊA_CHỈ:CỔNG], hoặc passwd [--user TÊN] [--role operator|viewer], hoặc cert [--host TÊN] (chứng chỉ HTTPS)",
            "The console's arguments: [--listen ADDRESS:PORT], or passwd [--user NAME] [--role operator|viewer], or cert [--host NAME] (an HTTPS certificate)",
        ))]
        args: Vec<std::ffi::OsString>,
    },
}

#[derive(Debug, clap::Args)]
pub(super) struct LogArgs {
    #[arg(long, conflicts_with = "day", help = h(
        "Từ ngày (NĂM-THÁNG-NGÀY, giờ của đài). Mặc định: 7 ngày trước",
        "First day (YYYY-MM-DD, station time). Default: 7 days ago",
    ))]
    pub(super) from: Option<NaiveDate>,
    #[arg(long, conflicts_with = "day", help = h(
        "Đến hết ngày (NĂM-THÁNG-NGÀY). Mặc định: hôm nay",
        "Last day, inclusive (YYYY-MM-DD, station time). Default: today",
    ))]
    pub(super) to: Option<NaiveDate>,
    #[arg(long, help = h(
        "Xem một ngày theo dòng thời gian: kế hoạch và thực tế, từng bài",
        "One day as a timeline: what was planned against what aired, clip by clip",
    ))]
    pub(super) day: Option<NaiveDate>,
    #[arg(long, help = h("Chỉ một kế hoạch (mã)", "Only this plan (its id)"))]
    pub(super) plan: Option<String>,
    #[arg(long, help = h("Chỉ một phiên (mã)", "Only this slot (its id)"))]
    pub(super) slot: Option<String>,
    #[arg(long, help = h("Chỉ một nội dung/chủ đề (mã)", "Only this plan item (topic key)"))]
    pub(super) topic: Option<String>,
    #[arg(long, help = h(
        "Chỉ một kết quả: completed, partial, failed, missed, interrupted hoặc unfinished",
        "Only this outcome: completed, partial, failed, missed, interrupted or unfinished",
    ))]
    pub(super) outcome: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table, help = h(
        "Dạng in: table (bảng), csv hoặc json",
        "Output: table, csv or json",
    ))]
    pub(super) format: Format,
}

#[derive(Debug, Subcommand)]
pub(super) enum LogAction {
    #[command(about = h(
        "Kiểm tra chuỗi băm của nhật ký: báo sự kiện đầu tiên bị sửa, xóa, chèn hoặc đổi chỗ (mã thoát 1 nếu hỏng)",
        "Walk the journal's hash chain and report the first event altered, removed, inserted or reordered (exit 1 if the chain is broken)",
    ))]
    Verify {
        #[arg(long, value_name = "EVENTS:HASH", help = h(
            "Mốc in trên báo cáo, dạng SỐ_SỰ_KIỆN:MÃ_BĂM: kiểm tra nhật ký vẫn đúng là lịch sử báo cáo đã dựa vào",
            "A report's pinned head, as printed on it (EVENTS:HASH): checks that the journal still holds the history that report was made from",
        ))]
        pin: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum LiveAction {
    #[command(about = h(
        "Bắt đầu phát trực tiếp, đến khi dừng hoặc hết live_max_minutes",
        "Go live, until stopped or live_max_minutes",
    ))]
    Start {
        #[arg(long, value_enum, default_value_t = LivePriority::Normal, help = h(
            "normal: sau bài đang phát; priority: trước các bài đang chờ; emergency: cắt ngang bài đang phát",
            "normal: after what is on air; priority: before what waits; emergency: cuts what is on air",
        ))]
        priority: LivePriority,
    },
    #[command(about = h("Dừng phát trực tiếp", "End the live broadcast"))]
    Stop,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(super) enum LivePriority {
    Normal,
    Priority,
    Emergency,
}

impl LivePriority {
    pub(super) fn priority(self) -> crate::journal::Priority {
        match self {
            LivePriority::Normal => crate::journal::Priority::Normal,
            LivePriority::Priority => crate::journal::Priority::Priority,
            LivePriority::Emergency => crate::journal::Priority::Emergency,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(super) enum PlayPriority {
    Normal,
    Emergency,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(super) enum ReportFormat {
    Table,
    Csv,
    Json,
    Html,
    Xlsx,
}

#[derive(Debug, Subcommand)]
pub(super) enum ConsoleAction {
    #[command(about = h(
        "Đặt mật khẩu (và quyền) cho một tài khoản của bảng điều khiển tỉnh; mật khẩu đọc từ bàn phím hoặc stdin",
        "Set a province console account's password (and role); the password is read from the terminal or stdin",
    ))]
    Passwd {
        #[arg(long, help = h("Tên tài khoản", "The account's name"))]
        user: String,
        #[arg(long, value_parser = ["viewer", "editor", "approver"], help = h(
            "Quyền: viewer (chỉ xem), editor (soạn bản tin), approver (duyệt, gửi khẩn cấp một mình)",
            "Role: viewer (looks only), editor (drafts bulletins), approver (approves, sends khẩn cấp alone)",
        ))]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum CentralAction {
    #[command(about = h(
        "Tạo hoặc nâng cấp lược đồ (các bước nâng cấp có đánh số)",
        "Create the schema, or migrate it to this version (numbered migrations)",
    ))]
    Init,
    #[command(about = h(
        "Thêm một đài và tạo tài khoản đăng nhập chỉ được gửi sự kiện của chính đài đó",
        "Add a station and create a login that can only add that station's own events",
    ))]
    AddStation {
        #[arg(help = h(
            "Mã của đài: chữ thường, số, dấu gạch ngang (ví dụ xa-hoang-hoa)",
            "The station's id: lower-case letters, digits, hyphens (e.g. xa-hoang-hoa)",
        ))]
        id: String,
        #[arg(long, help = h("Tên đài (để hiện trong báo cáo)", "The station's name (shown in reports)"))]
        name: Option<String>,
        #[arg(long, value_name = "FILE", help = h(
            "Ghi mật khẩu của tài khoản vào tệp này (quyền 0600) thay vì in ra",
            "Write the login's password to this file (mode 0600) instead of printing it",
        ))]
        password_file: Option<PathBuf>,
    },
    #[command(about = h(
        "Báo cáo toàn tỉnh: theo xã, theo nội dung kế hoạch, đài chưa gửi, đài bị cảnh báo",
        "The province's report: per commune, per plan item, silent stations, flagged stations",
    ))]
    Report {
        #[arg(long, conflicts_with = "year", help = h("Tháng: 2025-09", "A month: 2025-09"))]
        month: Option<String>,
        #[arg(long, help = h("Năm: 2025", "A year: 2025"))]
        year: Option<i32>,
        #[arg(long = "station", value_name = "ID", help = h("Chỉ các đài này", "Only these stations"))]
        stations: Vec<String>,
        #[arg(long, value_name = "YYYY-MM-DD", help = h(
            "Liệt kê đài không liên lạc từ ngày này (mặc định: 7 ngày trước)",
            "List stations not heard from since this day (default: 7 days ago)",
        ))]
        silent_since: Option<NaiveDate>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Table, help = h(
            "Dạng: table, csv, json, html (in theo NĐ 30/2020) hoặc xlsx",
            "Format: table, csv, json, html (printable, NĐ 30/2020 layout) or xlsx",
        ))]
        format: ReportFormat,
        #[arg(long, value_name = "FILE", help = h("Ghi vào tệp", "Write to this file"))]
        out: Option<PathBuf>,
    },
    #[command(about = h(
        "Các đài lúc này: đang phát, đang chạy, mất đầu ra, im lặng từ khi nào, số sự kiện chưa gửi, cảnh báo, hoàn thành tháng này",
        "The stations now: on air, live, output down, silent since when, unsent events, flags, this month's completion",
    ))]
    Stations {
        #[arg(long, value_enum, default_value_t = NextFormat::Table, help = h("Dạng: table hoặc json", "Format: table or json"))]
        format: NextFormat,
    },
    #[command(about = h(
        "Ghi vị trí của một xã (để hiện trên bản đồ của bảng điều khiển tỉnh)",
        "Say where a commune is (for the map on the province's console)",
    ))]
    Locate {
        #[arg(help = h("Mã của đài", "The station's id"))]
        id: String,
        #[arg(long, value_name = "LAT,LON", help = h(
            "Vĩ độ, kinh độ (độ thập phân), ví dụ 19.8067,105.7852",
            "Latitude, longitude (decimal degrees), e.g. 19.8067,105.7852",
        ))]
        at: String,
    },
    #[command(about = h(
        "Bảng điều khiển của tỉnh trên trình duyệt: các xã, bản tin (soạn, duyệt, theo dõi)",
        "The province's console in a browser: the communes, bulletins (drafted, approved, followed)",
    ))]
    Web {
        #[arg(long, value_name = "ADDRESS:PORT", help = h(
            "Nghe ở địa chỉ này (mặc định 127.0.0.1:8090)",
            "Listen here (default 127.0.0.1:8090)",
        ))]
        listen: Option<std::net::SocketAddr>,
        #[command(subcommand)]
        action: Option<ConsoleAction>,
    },
    #[command(about = h(
        "Kiểm tra chuỗi nhật ký đã lưu của các đài, tính lại mọi mã băm (từ lần kiểm tra trước)",
        "Verify the stored chains, recomputing every hash (from the last verified point)",
    ))]
    Verify {
        #[arg(long = "station", value_name = "ID", help = h(
            "Chỉ các đài này (mặc định: mọi đài)",
            "Only these stations (default: all)",
        ))]
        stations: Vec<String>,
        #[arg(long, help = h(
            "Kiểm tra lại từ đầu mọi chuỗi, không chỉ phần mới",
            "Re-walk every chain from its start, not only what is new",
        ))]
        full: bool,
    },
    #[command(about = h(
        "Cho một đài bị cảnh báo gửi lại: nhận chuỗi của đài từ điểm rẽ nhánh, giữ mãi bằng chứng",
        "Re-admit a flagged station: accept its chain from the fork point on, keeping the evidence for ever",
    ))]
    Readmit {
        #[arg(help = h("Mã của đài", "The station's id"))]
        id: String,
        #[arg(long, help = h(
            "Lý do (bắt buộc, được ghi lại cùng người và thời điểm)",
            "Why (required; recorded with who and when)",
        ))]
        reason: String,
    },
    #[command(about = h(
        "Bản tin của tỉnh gửi xuống các xã: gửi, xem danh sách, xem từng xã, thu hồi",
        "The province's bulletins to the communes: publish, list, show commune by commune, withdraw",
    ))]
    Bulletin {
        #[command(subcommand)]
        action: BulletinAction,
    },
    #[command(about = h(
        "Nhóm đài (ví dụ các xã ven biển) để gửi bản tin",
        "Groups of stations (the coastal communes, say) to send bulletins to",
    ))]
    Group {
        #[command(subcommand)]
        action: GroupAction,
    },
}

/// What a bulletin is, as published or drafted.
#[derive(Debug, clap::Args)]
pub(super) struct BulletinArgs {
    #[arg(help = h("Tệp âm thanh của bản tin", "The bulletin's audio file"))]
    pub(super) file: PathBuf,
    #[arg(long, help = h("Tiêu đề", "Its title"))]
    pub(super) title: String,
    #[arg(long, help = h(
        "Mức: thuong (xã tự quyết), uu-tien (phát trước các bài thường), khan-cap (phát ngay, ngắt bài đang phát)",
        "Level: thuong (the commune decides), uu-tien (before ordinary items), khan-cap (at once, cutting what is on air)",
    ))]
    pub(super) level: String,
    #[arg(long, required = true, num_args = 1.., value_name = "all|NHÓM|MÃ_ĐÀI", help = h(
        "Gửi cho: all (mọi đài), tên nhóm hoặc mã đài",
        "To: all (every station), group names or station ids",
    ))]
    pub(super) to: Vec<String>,
    #[arg(long, value_name = "THỜI_ĐIỂM", help = h(
        "Có hiệu lực từ (mặc định: ngay), ví dụ \"2026-12-06 10:00\" giờ Việt Nam",
        "Valid from (default: now), e.g. \"2026-12-06 10:00\" Vietnam time",
    ))]
    pub(super) from: Option<String>,
    #[arg(long, value_name = "THỜI_ĐIỂM", help = h(
        "Hết hạn lúc: không đài nào phát sau đó (mặc định: khẩn cấp 1 giờ, ưu tiên 24 giờ, thường 7 ngày)",
        "Ends at: no station airs it after (default: khẩn cấp 1 hour, ưu tiên 24 hours, thường 7 days)",
    ))]
    pub(super) until: Option<String>,
    #[arg(long, value_name = "GIỜ:PHÚT", help = h("Giờ phát trong ngày (có thể nhiều lần)", "A time of day to air it (repeatable)"))]
    pub(super) at: Vec<String>,
    #[arg(long, default_value_t = 1, help = h("Số lần phát (1–10)", "How many times it airs (1–10)"))]
    pub(super) repeat: u32,
}

#[derive(Debug, Subcommand)]
pub(super) enum BulletinAction {
    #[command(about = h(
        "Kiểm tra tệp âm thanh rồi gửi bản tin cho các đài",
        "Check the clip, then send the bulletin to the stations",
    ))]
    Publish {
        #[command(flatten)]
        bulletin: BulletinArgs,
        #[arg(long, value_name = "TÊN", help = h(
            "Người duyệt gửi một mình (tin khẩn cấp không chờ người thứ hai): ghi lại như vậy",
            "An approver sending it alone (a khẩn cấp bulletin cannot wait for a second person): recorded as such",
        ))]
        by: Option<String>,
    },
    #[command(about = h(
        "Soạn bản nháp: kiểm tra tệp âm thanh, lưu lại, chưa gửi cho ai đến khi người khác duyệt",
        "Draft a bulletin: the clip checked and stored, sent to no one until someone else approves it",
    ))]
    Draft {
        #[command(flatten)]
        bulletin: BulletinArgs,
        #[arg(long, value_name = "TÊN", help = h("Người soạn", "Who drafted it"))]
        by: String,
    },
    #[command(about = h(
        "Duyệt một bản nháp và gửi đi (người duyệt phải khác người soạn)",
        "Approve a draft and send it (the approver must not be who drafted it)",
    ))]
    Approve {
        #[arg(help = h("Số của bản nháp", "The draft's id"))]
        id: i64,
        #[arg(long, value_name = "TÊN", help = h("Người duyệt", "Who approves it"))]
        by: String,
    },
    #[command(about = h("Các bản tin, mới nhất trước", "The bulletins, newest first"))]
    List,
    #[command(about = h(
        "Một bản tin và việc nhận, phát của từng xã",
        "One bulletin, and its delivery commune by commune",
    ))]
    Show {
        #[arg(help = h("Số của bản tin", "The bulletin's id"))]
        id: i64,
        #[arg(long, value_enum, default_value_t = NextFormat::Table, help = h("Dạng: table hoặc json", "Format: table or json"))]
        format: NextFormat,
    },
    #[command(about = h(
        "Thu hồi một bản tin: đài chưa phát thì bỏ, đang phát thì ngắt",
        "Withdraw a bulletin: removed where it waits, cut where it is on air",
    ))]
    Withdraw {
        #[arg(help = h("Số của bản tin", "The bulletin's id"))]
        id: i64,
        #[arg(long, help = h("Lý do (bắt buộc)", "Why (required)"))]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum GroupAction {
    #[command(about = h("Thêm đài vào nhóm", "Add stations to a group"))]
    Add {
        #[arg(help = h("Tên nhóm, ví dụ ven-bien", "The group's name, e.g. ven-bien"))]
        name: String,
        #[arg(required = true, help = h("Mã các đài", "The stations' ids"))]
        stations: Vec<String>,
    },
    #[command(about = h("Bỏ đài khỏi nhóm", "Remove stations from a group"))]
    Remove {
        #[arg(help = h("Tên nhóm, ví dụ ven-bien", "The group's name, e.g. ven-bien"))]
        name: String,
        #[arg(required = true, help = h("Mã các đài", "The stations' ids"))]
        stations: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum NextFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum Format {
    Table,
    Csv,
    Json,
}
