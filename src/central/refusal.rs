//! Why the centre refused a station's call. The centre answers with a code and its numbers
//! (never a sentence), so the station words it in its operator's language, and `status`,
//! the console and the log say the same thing.

use serde::Deserialize;

use crate::lang::Lang;
use crate::tr;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Refusal {
    /// The login may not act for that station.
    NotYours { login: String, station: String },
    /// A batch with holes or missing fields.
    NotContinuous,
    /// A batch starting after the centre's head.
    Gap { first: i64, held: i64 },
    /// The station's history differs from the centre's copy at or before `at`; the station
    /// is to locate the first differing event.
    Diverged { at: i64 },
    /// The station is flagged (its fork found at `at`) and may not send until re-admitted.
    Flagged { at: Option<i64> },
    /// The first event where the station's history leaves the centre's copy, checked and
    /// kept: the station's events from `at` to `kept_to` are held as evidence.
    Fork {
        at: i64,
        held: Option<String>,
        sent: Option<String>,
        held_seq: i64,
        kept_to: i64,
    },
    /// A fork claim the centre's copy does not bear out.
    BadEvidence { at: Option<i64> },
    /// The station's probe was not at the point the centre asked for.
    BadProbe { at: Option<i64>, held: i64 },
    /// A bulletin's clip asked for by a station it is not addressed to.
    NotAddressed { bulletin: i64 },
    /// An answer this loaxa does not know (a newer centre).
    #[serde(other)]
    Unknown,
}

impl Refusal {
    /// Parses the centre's answer (a JSON object with a `code`).
    pub fn from_json(v: serde_json::Value) -> Refusal {
        serde_json::from_value(v).unwrap_or(Refusal::Unknown)
    }

    /// The station's history left the centre's copy (a fork, found or being located).
    pub fn is_fork(&self) -> bool {
        matches!(
            self,
            Refusal::Diverged { .. } | Refusal::Flagged { .. } | Refusal::Fork { .. }
        )
    }

    pub fn text(&self, lang: Lang) -> String {
        match self {
            Refusal::NotYours { login, station } => tr!(
                lang,
                "tài khoản {login} không được gửi thay đài {station}",
                "the login {login} may not act for station {station}"
            ),
            Refusal::NotContinuous => lang
                .pick(
                    "lô sự kiện không liền mạch hoặc thiếu dữ liệu",
                    "the batch is not one continuous, complete piece of chain",
                )
                .into(),
            Refusal::Gap { first, held } => tr!(
                lang,
                "lô bắt đầu từ sự kiện {first} nhưng tỉnh mới giữ đến {held}",
                "the batch starts at event {first} but the province holds events up to {held}"
            ),
            Refusal::Diverged { at } => tr!(
                lang,
                "nhật ký ở đây khác bản tỉnh đang giữ, tại hoặc trước sự kiện {at}; đài bị cảnh báo",
                "the journal here differs from the province's copy at or before event {at}; the station is flagged"
            ),
            Refusal::Flagged { at: Some(at) } => tr!(
                lang,
                "đài đang bị cảnh báo (nhật ký khác bản của tỉnh từ sự kiện {at}): tỉnh không nhận thêm cho đến khi cho gửi lại (`loaxa central readmit`)",
                "the station is flagged (its journal differs from the province's copy from event {at}): nothing more is taken until it is re-admitted (`loaxa central readmit`)"
            ),
            Refusal::Flagged { at: None } => lang
                .pick(
                    "đài đang bị cảnh báo: tỉnh không nhận thêm cho đến khi cho gửi lại (`loaxa central readmit`)",
                    "the station is flagged: nothing more is taken until it is re-admitted (`loaxa central readmit`)",
                )
                .into(),
            Refusal::Fork {
                at,
                sent: None,
                held_seq,
                ..
            } => tr!(
                lang,
                "nhật ký ở đây dừng ở sự kiện {} nhưng tỉnh đã giữ đến {held_seq}: nhật ký đã bị cắt bớt hoặc thay thế; đài bị cảnh báo",
                "the journal here ends at event {} but the province holds up to {held_seq}: it was truncated or replaced; the station is flagged",
                at - 1
            ),
            Refusal::Fork {
                at,
                held,
                sent: Some(sent),
                kept_to,
                ..
            } => tr!(
                lang,
                "sự kiện {at} khác bản tỉnh đang giữ (tỉnh {}…, ở đây {sent}…): lịch sử đã gửi không được sửa; các sự kiện {at}–{kept_to} của đài được lưu làm bằng chứng, đài bị cảnh báo",
                "event {at} differs from what the province holds (held {}…, sent {sent}…): history already received cannot be changed; the station's events {at}–{kept_to} are kept as evidence and the station is flagged",
                held.as_deref().unwrap_or("")
            ),
            Refusal::BadEvidence { at } => tr!(
                lang,
                "tỉnh không công nhận điểm rẽ nhánh tại sự kiện {}",
                "the province does not bear out a fork at event {}",
                at.unwrap_or(0)
            ),
            Refusal::BadProbe { at, held } => tr!(
                lang,
                "đài hỏi sai điểm đối chiếu ({}; tỉnh giữ đến {held})",
                "the station probed the wrong event ({}; the province holds up to {held})",
                at.unwrap_or(0)
            ),
            Refusal::NotAddressed { bulletin } => tr!(
                lang,
                "bản tin {bulletin} không gửi cho đài này",
                "bulletin {bulletin} is not addressed to this station"
            ),
            Refusal::Unknown => lang
                .pick(
                    "tỉnh từ chối với lý do bản loaxa này chưa biết",
                    "the province refused for a reason this loaxa does not know",
                )
                .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_centre_s_codes_read_in_either_language() {
        let fork = Refusal::from_json(serde_json::json!({
            "code": "fork", "at": 531, "held": "abcdef012345", "sent": "0123456789ab",
            "held_seq": 535, "kept_to": 540
        }));
        assert!(fork.is_fork());
        assert!(fork.text(Lang::Vi).contains("sự kiện 531 khác bản tỉnh"));
        assert!(fork
            .text(Lang::En)
            .contains("events 531–540 are kept as evidence"));
        let cut = Refusal::from_json(serde_json::json!({
            "code": "fork", "at": 531, "held": "abcdef012345", "sent": null,
            "held_seq": 535, "kept_to": 530
        }));
        assert!(cut.text(Lang::En).contains("ends at event 530"), "{cut:?}");
        assert_eq!(
            Refusal::from_json(serde_json::json!({"code": "something_new"})),
            Refusal::Unknown
        );
    }
}
