//! Who is at the console: passwords (argon2id hashes, never the password), sessions held in
//! memory behind an HttpOnly, SameSite=Strict cookie, a CSRF token per session for every
//! state-changing request, and login attempts limited per address with growing delays. One
//! gate for both consoles: the station's (its accounts in `[web]`) and the province's (its
//! accounts in PostgreSQL), each with its own roles.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use super::settings::{Role, WebUser};

pub(crate) const COOKIE: &str = "loaxa_session";
/// A session ends this long after its last request.
const IDLE: Duration = Duration::from_secs(2 * 3600);
/// And this long after it began, whatever happens.
const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Failures from one address allowed before each further attempt must wait.
const FREE_FAILURES: u32 = 3;
const LONGEST_WAIT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub(crate) struct Session<R = Role> {
    pub(crate) user: String,
    pub(crate) role: R,
    pub(crate) csrf: String,
    started: Instant,
    seen: Instant,
}

impl Session {
    pub(super) fn can_change(&self) -> bool {
        self.role == Role::Operator
    }
}

/// An account a console knows: its name, its role there, its password's hash.
pub(crate) trait Account {
    type Role: Copy;
    fn name(&self) -> &str;
    fn role(&self) -> Self::Role;
    fn password_hash(&self) -> &str;
}

impl Account for WebUser {
    type Role = Role;
    fn name(&self) -> &str {
        &self.name
    }
    fn role(&self) -> Role {
        self.role
    }
    fn password_hash(&self) -> &str {
        &self.password_hash
    }
}

/// The argon2id hash `loaxa web passwd` stores (RustCrypto's defaults: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt =
        SaltString::encode_b64(&crate::net::token().as_bytes()[..16]).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub(crate) fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Sessions and the login limiter.
pub(crate) struct Gate<R = Role> {
    sessions: Mutex<HashMap<String, Session<R>>>,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl<R> Default for Gate<R> {
    fn default() -> Self {
        Gate {
            sessions: Mutex::default(),
            failures: Mutex::default(),
        }
    }
}

/// What a login attempt came to.
pub(crate) enum Login<R = Role> {
    Ok {
        id: String,
        session: Session<R>,
    },
    Wrong,
    /// Too many failures from this address: wait this long.
    Wait(Duration),
}

impl<R: Copy> Gate<R> {
    /// The session a cookie names, if it is still alive (and marks it used).
    pub(crate) fn session(&self, id: &str) -> Option<Session<R>> {
        let mut all = self.sessions.lock().ok()?;
        let now = Instant::now();
        all.retain(|_, s| now - s.seen < IDLE && now - s.started < LIFETIME);
        let s = all.get_mut(id)?;
        s.seen = now;
        Some(s.clone())
    }

    pub(crate) fn end(&self, id: &str) {
        if let Ok(mut all) = self.sessions.lock() {
            all.remove(id);
        }
    }

    /// How long `from` must still wait before trying again.
    pub(crate) fn wait(&self, from: IpAddr) -> Option<Duration> {
        let failures = self.failures.lock().ok()?;
        let (n, last) = failures.get(&from)?;
        let wait = delay(*n)?;
        let passed = last.elapsed();
        (passed < wait).then(|| wait - passed)
    }

    /// Checks a name and password (slow on purpose: argon2id), counting failures per address.
    pub(crate) fn login<A: Account<Role = R>>(
        &self,
        users: &[A],
        from: IpAddr,
        name: &str,
        password: &str,
    ) -> Login<R> {
        let user = match self.authenticate(users, from, name, password) {
            Ok(u) => u,
            Err(refused) => return refused,
        };
        let now = Instant::now();
        let session = Session {
            user: user.name().to_string(),
            role: user.role(),
            csrf: crate::net::token(),
            started: now,
            seen: now,
        };
        let id = crate::net::token();
        if let Ok(mut all) = self.sessions.lock() {
            all.insert(id.clone(), session.clone());
        }
        Login::Ok { id, session }
    }

    /// HTTP Basic credentials (`Authorization: Basic …`), for tools that read without a
    /// browser (Prometheus's `basic_auth`): a session for this request only, and read-only
    /// whatever the account (`read_only`), since a browser would send them on its own.
    pub(crate) fn basic<A: Account<Role = R>>(
        &self,
        users: &[A],
        from: IpAddr,
        header: &str,
        read_only: R,
    ) -> Result<Session<R>, Login<R>> {
        let decoded = header
            .strip_prefix("Basic ")
            .map(|b| base64_decode(b.trim()))
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(Login::Wrong)?;
        let (name, password) = decoded.split_once(':').ok_or(Login::Wrong)?;
        let user = self.authenticate(users, from, name, password)?;
        let now = Instant::now();
        Ok(Session {
            user: user.name().to_string(),
            role: read_only,
            csrf: crate::net::token(),
            started: now,
            seen: now,
        })
    }

    fn authenticate<'u, A: Account<Role = R>>(
        &self,
        users: &'u [A],
        from: IpAddr,
        name: &str,
        password: &str,
    ) -> Result<&'u A, Login<R>> {
        if let Some(w) = self.wait(from) {
            return Err(Login::Wait(w));
        }
        // The hash is checked even for an unknown name, so the time taken does not tell
        // which names exist.
        static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let decoy = DECOY.get_or_init(|| hash_password(&crate::net::token()).unwrap_or_default());
        let user = users.iter().find(|u| u.name() == name);
        let ok = password_matches(user.map_or(decoy.as_str(), |u| u.password_hash()), password)
            && user.is_some();
        let Some(user) = user.filter(|_| ok) else {
            if let Ok(mut f) = self.failures.lock() {
                let e = f.entry(from).or_insert((0, Instant::now()));
                e.0 += 1;
                e.1 = Instant::now();
            }
            return Err(Login::Wrong);
        };
        if let Ok(mut f) = self.failures.lock() {
            f.remove(&from);
        }
        Ok(user)
    }
}

/// Standard base64, as HTTP Basic credentials carry it.
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The wait after `failures` failures in a row: none for the first few, then doubling.
fn delay(failures: u32) -> Option<Duration> {
    let over = failures.checked_sub(FREE_FAILURES)?;
    Some((Duration::from_secs(1) * 2u32.saturating_pow(over.min(16))).min(LONGEST_WAIT))
}

/// Compares two tokens in time independent of where they differ.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_decode() {
        assert_eq!(
            base64_decode("Y2h1LXRpY2g6bcOgdA=="),
            "chu-tich:màt".as_bytes()
        );
    }

    #[test]
    fn waits_grow_after_the_first_failures_and_are_capped() {
        assert_eq!(delay(1), None);
        assert_eq!(delay(3), Some(Duration::from_secs(1)));
        assert_eq!(delay(5), Some(Duration::from_secs(4)));
        assert_eq!(delay(40), Some(LONGEST_WAIT));
    }

    #[test]
    fn a_password_matches_its_hash_and_nothing_else() {
        let h = hash_password("mật khẩu đài").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(password_matches(&h, "mật khẩu đài"));
        assert!(!password_matches(&h, "mat khau dai"));
    }

    #[test]
    fn wrong_passwords_from_one_address_make_it_wait() {
        let gate = Gate::default();
        let users = vec![WebUser {
            name: "a".into(),
            role: Role::Operator,
            password_hash: hash_password("right").unwrap(),
        }];
        let ip: IpAddr = [10, 0, 0, 9].into();
        for _ in 0..FREE_FAILURES {
            assert!(matches!(gate.login(&users, ip, "a", "wrong"), Login::Wrong));
        }
        // Even the right password waits now: the limiter does not tell which was right.
        assert!(matches!(
            gate.login(&users, ip, "a", "right"),
            Login::Wait(_)
        ));
        let other: IpAddr = [10, 0, 0, 10].into();
        assert!(matches!(
            gate.login(&users, other, "a", "right"),
            Login::Ok { .. }
        ));
    }
}
