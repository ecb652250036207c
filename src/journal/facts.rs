//! What the journal stores that other parts also speak of: a slot's priority, what the stream
//! did during a broadcast, and what the operator's console did. They live here, at the floor,
//! so the journal imports nothing above it; the parts that make them re-export them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lang::Lang;

/// Thông tư 39/2020's three levels. Order matters: a higher level outranks a lower one.
/// Journaled and published by its [`Priority::code`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    #[default]
    Normal,
    Priority,
    Emergency,
}

impl Priority {
    pub fn parse(s: &str) -> Option<Priority> {
        match s.trim().to_lowercase().as_str() {
            "normal" | "thong-thuong" | "thông thường" | "thông-thường" => {
                Some(Priority::Normal)
            }
            "priority" | "uu-tien" | "ưu tiên" | "ưu-tiên" => Some(Priority::Priority),
            "thuong" => Some(Priority::Normal),
            "emergency" | "khan-cap" | "khẩn cấp" | "khẩn-cấp" => Some(Priority::Emergency),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Priority => "priority",
            Priority::Emergency => "emergency",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Priority::Normal => lang.pick("thông thường", "normal"),
            Priority::Priority => lang.pick("ưu tiên", "priority"),
            Priority::Emergency => lang.pick("khẩn cấp", "emergency"),
        }
    }
}

/// What the stream did during one broadcast, for the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamFacts {
    /// The mount, without credentials.
    pub mount: String,
    /// Audio of the broadcast handed to the stream, and what of it reached the server.
    pub aired_ms: u64,
    pub sent_ms: u64,
    /// When the server was unreachable during the broadcast: ms from its start, and length.
    pub down: Vec<(u64, u64)>,
    pub error: Option<String>,
}

impl StreamFacts {
    pub fn in_full(&self) -> bool {
        self.aired_ms > 0 && self.sent_ms + 100 >= self.aired_ms && self.down.is_empty()
    }
}

/// One thing done from the console, by whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub at: DateTime<Utc>,
    /// The account's name (empty for a failed login with an unknown name).
    pub user: String,
    /// The client's address.
    pub from: String,
    pub what: What,
    /// The file it concerns, relative to the station's audio or schedules folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The bulletin from above it concerns (its id at the province), for the bulletin
    /// actions `loaxa sync` hands over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulletin: Option<i64>,
    /// A live broadcast from a browser (its start, and a stop from its page): the loopback
    /// address the console passes that voice on at. Handed over, never journaled: the daemon
    /// clears it before it records the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum What {
    Login,
    LoginFailed,
    Logout,
    Upload,
    /// A take recorded in the console's Record page, saved as a clip.
    Recorded,
    Retire,
    /// A clip that never aired, removed.
    Delete,
    SidecarSaved,
    ScheduleSaved,
    Emergency,
    /// A bulletin from the province, taken in through its level's door.
    BulletinReceived,
    /// A bulletin the station would not take (its clip did not match or did not decode).
    BulletinRefused,
    /// A bulletin whose end passed before it could air: never aired.
    BulletinExpired,
    /// A bulletin the province withdrew: removed if not yet aired, cut if on air.
    BulletinWithdrawn,
    /// The operator's order for a province's ưu tiên bulletin that falls due with a commune
    /// priority item (`detail`: a [`ClashOrder`] code).
    BulletinOrder,
    /// Going live from the station's microphone (`detail`: the priority code).
    LiveStart,
    /// Ending the live occurrence on air (or waiting).
    LiveStop,
}

/// Which airs first when a province's ưu tiên bulletin and a commune's own priority item
/// fall due together: the operator's choice (the rule leaves it to the commune), the
/// province's first until the operator says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClashOrder {
    #[default]
    ProvinceFirst,
    CommuneFirst,
}

impl ClashOrder {
    pub const ALL: [ClashOrder; 2] = [ClashOrder::ProvinceFirst, ClashOrder::CommuneFirst];

    pub fn code(self) -> &'static str {
        match self {
            ClashOrder::ProvinceFirst => "province_first",
            ClashOrder::CommuneFirst => "commune_first",
        }
    }

    pub fn from_code(code: &str) -> Option<ClashOrder> {
        Self::ALL.into_iter().find(|o| o.code() == code)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            ClashOrder::ProvinceFirst => lang.pick(
                "phát bản tin của tỉnh trước",
                "the province's bulletin first",
            ),
            ClashOrder::CommuneFirst => {
                lang.pick("phát mục của xã trước", "the commune's own item first")
            }
        }
    }
}

impl What {
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            What::Login => lang.pick("đăng nhập", "login"),
            What::LoginFailed => lang.pick("đăng nhập sai", "failed login"),
            What::Logout => lang.pick("đăng xuất", "logout"),
            What::Upload => lang.pick("tải lên", "upload"),
            What::Recorded => lang.pick("ghi âm", "recorded"),
            What::Retire => lang.pick("cho nghỉ", "retire"),
            What::Delete => lang.pick("xóa bài chưa phát", "delete a never-aired clip"),
            What::SidecarSaved => lang.pick("sửa thông tin bài", "clip details saved"),
            What::ScheduleSaved => lang.pick("lưu lịch phát", "schedule saved"),
            What::Emergency => lang.pick("phát khẩn cấp", "emergency"),
            What::BulletinReceived => {
                lang.pick("nhận bản tin của tỉnh", "province bulletin received")
            }
            What::BulletinRefused => {
                lang.pick("từ chối bản tin của tỉnh", "province bulletin refused")
            }
            What::BulletinExpired => {
                lang.pick("bản tin của tỉnh hết hạn", "province bulletin expired")
            }
            What::BulletinWithdrawn => {
                lang.pick("tỉnh thu hồi bản tin", "province bulletin withdrawn")
            }
            What::LiveStart => lang.pick("bắt đầu phát trực tiếp", "live started"),
            What::LiveStop => lang.pick("dừng phát trực tiếp", "live stopped"),
            What::BulletinOrder => lang.pick(
                "thứ tự khi bản tin ưu tiên của tỉnh trùng giờ",
                "order when a province priority bulletin clashes",
            ),
        }
    }
}
