//! The province console's own records at the centre: its accounts, each with a role (who may
//! only look, who drafts bulletins, who approves them), and its log of what was done there. The
//! console process and `loaxa central web passwd` both go through here; a station's login has
//! no grant on either table.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Client;

use super::{check_schema, within, CentralError, Target};
use crate::lang::Lang;

/// What an account may do at the province's console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleRole {
    /// Looks, changes nothing (also what a scraper's credentials give).
    Viewer,
    /// Drafts bulletins and withdraws them.
    Editor,
    /// Also approves another's draft, sends a khẩn cấp bulletin alone, re-admits a station.
    Approver,
}

impl ConsoleRole {
    pub const ALL: [ConsoleRole; 3] = [
        ConsoleRole::Viewer,
        ConsoleRole::Editor,
        ConsoleRole::Approver,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ConsoleRole::Viewer => "viewer",
            ConsoleRole::Editor => "editor",
            ConsoleRole::Approver => "approver",
        }
    }

    pub fn parse(code: &str) -> Option<ConsoleRole> {
        ConsoleRole::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            ConsoleRole::Viewer => lang.pick("chỉ xem", "viewer"),
            ConsoleRole::Editor => lang.pick("biên tập", "editor"),
            ConsoleRole::Approver => lang.pick("phê duyệt", "approver"),
        }
    }
}

/// An account of the province's console.
#[derive(Debug, Clone)]
pub struct ConsoleAccount {
    pub name: String,
    pub role: ConsoleRole,
    pub password_hash: String,
}

/// Whether a name will do for an account (the table checks it too).
pub fn valid_account_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 40
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c))
}

/// Every account, read afresh (a password set a moment ago counts at the next login).
pub async fn accounts(t: &Target, client: &Client) -> Result<Vec<ConsoleAccount>, CentralError> {
    check_schema(t, client).await?;
    let rows = within(
        t,
        client.query(
            "SELECT name, role, password_hash FROM loaxa.console_accounts ORDER BY name",
            &[],
        ),
    )
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(ConsoleAccount {
                name: r.get(0),
                role: ConsoleRole::parse(r.get(1))?,
                password_hash: r.get(2),
            })
        })
        .collect())
}

/// Sets an account's role and password hash (made by the caller: the hash, never the
/// password, reaches the database). Returns whether the account is new.
pub async fn set_account(
    t: &Target,
    client: &Client,
    name: &str,
    role: ConsoleRole,
    password_hash: &str,
) -> Result<bool, CentralError> {
    check_schema(t, client).await?;
    if !valid_account_name(name) {
        return Err(CentralError::BadAccount(name.to_string()));
    }
    let row = within(
        t,
        client.query_one(
            "INSERT INTO loaxa.console_accounts (name, role, password_hash) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET role = $2, password_hash = $3, changed_at = now()
             RETURNING (xmax = 0)",
            &[&name, &role.code(), &password_hash],
        ),
    )
    .await?;
    let new: bool = row.get(0);
    log(t, client, name, "", "account_set", Some(role.code())).await?;
    Ok(new)
}

/// One line of the console's log.
#[derive(Debug, Clone, Serialize)]
pub struct Logged {
    pub at: DateTime<Utc>,
    pub login: String,
    pub address: String,
    pub what: String,
    pub detail: Option<String>,
}

/// Writes what was done at the console (`what`: a code such as `login_failed`,
/// `bulletin_drafted`), by whom and from where.
pub async fn log(
    t: &Target,
    client: &Client,
    login: &str,
    address: &str,
    what: &str,
    detail: Option<&str>,
) -> Result<(), CentralError> {
    within(
        t,
        client.execute(
            "INSERT INTO loaxa.console_log (login, address, what, detail) VALUES ($1, $2, $3, $4)",
            &[&login, &address, &what, &detail],
        ),
    )
    .await
    .map(|_| ())
}

/// The console's log, newest first.
pub async fn logged(t: &Target, client: &Client, limit: i64) -> Result<Vec<Logged>, CentralError> {
    let rows = within(
        t,
        client.query(
            "SELECT at, login, address, what, detail FROM loaxa.console_log
             ORDER BY id DESC LIMIT $1",
            &[&limit],
        ),
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| Logged {
            at: r.get(0),
            login: r.get(1),
            address: r.get(2),
            what: r.get(3),
            detail: r.get(4),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_are_plain_lower_case_words() {
        for ok in ["an", "tran.thi-b", "bien_tap1", "0so"] {
            assert!(valid_account_name(ok), "{ok}");
        }
        for bad in ["", "An", ".an", "-x", "a b", "nguyễn", &"a".repeat(41)] {
            assert!(!valid_account_name(bad), "{bad}");
        }
    }

    #[test]
    fn roles_read_back_from_their_codes() {
        for r in ConsoleRole::ALL {
            assert_eq!(ConsoleRole::parse(r.code()), Some(r));
        }
        assert_eq!(ConsoleRole::parse("operator"), None);
    }
}
