//! `loaxa web passwd`: writes an account's argon2id hash into the station's configuration
//! file, keeping every other line (and the operator's comments) as it was. The account lives
//! in its own `[web.users.NAME]` table; its `password` line is replaced, or the table added
//! at the end. The result is parsed again before it replaces the file, atomically.

use std::path::{Path, PathBuf};

use crate::lang::Lang;
use crate::tr;
use crate::web::Role;

pub(super) fn set(
    file: &Path,
    user: &str,
    role: Role,
    password: &str,
    lang: Lang,
) -> Result<PathBuf, String> {
    if user.is_empty()
        || !user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(tr!(
            lang,
            "tên tài khoản chỉ gồm chữ không dấu, số, - và _: {user:?}",
            "an account name is ASCII letters, digits, - and _: {user:?}"
        ));
    }
    if password.chars().count() < 8 {
        return Err(lang
            .pick(
                "mật khẩu cần ít nhất 8 ký tự",
                "a password needs at least 8 characters",
            )
            .to_string());
    }
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let hash = super::hash_password(password)?;
    let new = with_account(&text, user, role, &hash);
    // The edit must leave a configuration loaxa reads, with this account in it.
    let parsed = super::settings::as_edited(file, &new)?;
    if !parsed
        .users
        .iter()
        .any(|u| u.name == user && u.password_hash == hash && u.role == role)
    {
        return Err(tr!(
            lang,
            "{}: không ghi được tài khoản {user} vào tệp này (bảng [web] viết theo cách khác?); hãy thêm tay:\n[web.users.{user}]\nrole = \"{}\"\npassword = \"{hash}\"",
            "{}: cannot put account {user} in this file ([web] written another way?); add it by hand:\n[web.users.{user}]\nrole = \"{}\"\npassword = \"{hash}\"",
            file.display(),
            role.code()
        ));
    }
    crate::files::replace(file, new.as_bytes()).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(file.to_path_buf())
}

/// The configuration text with `user`'s table set to `role` and `hash`.
fn with_account(text: &str, user: &str, role: Role, hash: &str) -> String {
    let header = format!("[web.users.{user}]");
    let body = format!("role = \"{}\"\npassword = \"{hash}\"\n", role.code());
    let lines: Vec<&str> = text.lines().collect();
    if let Some(start) = lines.iter().position(|l| l.trim() == header) {
        let end = lines[start + 1..]
            .iter()
            .position(|l| l.trim_start().starts_with('['))
            .map_or(lines.len(), |i| start + 1 + i);
        let mut out: Vec<String> = lines[..=start].iter().map(ToString::to_string).collect();
        // Comments inside the table stay; its role and password lines are replaced.
        out.extend(
            lines[start + 1..end]
                .iter()
                .filter(|l| {
                    let k = l.trim_start();
                    !(k.starts_with("role") || k.starts_with("password"))
                })
                .map(ToString::to_string),
        );
        let mut s = out.join("\n");
        s.push('\n');
        s.push_str(&body);
        for l in &lines[end..] {
            s.push_str(l);
            s.push('\n');
        }
        return s;
    }
    let mut s = text.to_string();
    if !s.ends_with('\n') && !s.is_empty() {
        s.push('\n');
    }
    s.push('\n');
    s.push_str(&header);
    s.push('\n');
    s.push_str(&body);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_added_then_replaced_keeping_the_rest() {
        let text = "# trạm\nstation = \"Đài xã\"\n\n[web]\nlisten = \"127.0.0.1:8080\"\n";
        let once = with_account(text, "can-bo", Role::Operator, "$argon2id$A");
        assert!(once.starts_with(text));
        let twice = with_account(&once, "can-bo", Role::Viewer, "$argon2id$B");
        assert!(twice.contains("[web.users.can-bo]\nrole = \"viewer\"\npassword = \"$argon2id$B\""));
        assert!(!twice.contains("$argon2id$A"));
        assert_eq!(twice.matches("[web.users.can-bo]").count(), 1);
        let other = with_account(&twice, "chu-tich", Role::Viewer, "$argon2id$C");
        assert!(other.contains("$argon2id$B") && other.contains("$argon2id$C"));
    }
}
