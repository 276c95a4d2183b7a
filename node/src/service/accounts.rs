//! Creating and listing local accounts.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Argon2, PasswordHash, PasswordVerifier};

use crate::app::App;
use crate::error::Internal;
use crate::store::StoreError;
use crate::store::accounts::{DbUser, NewLocalUser};

/// A valid local username, following Mastodon's rules: 1 to 30 characters of
/// `a-z`, `0-9`, `_`, `.` and `-`, starting and ending with a letter, digit or
/// underscore (case is kept, but matching ignores it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

/// The longest local username Mastodon accepts.
pub const MAX_USERNAME_LEN: usize = 30;

impl Username {
    /// Validates a username.
    pub fn parse(value: &str) -> Result<Username, String> {
        let edge = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let inner = |c: char| edge(c) || c == '.' || c == '-';
        if value.is_empty() {
            return Err("a username cannot be empty".into());
        }
        if value.chars().count() > MAX_USERNAME_LEN {
            return Err(format!(
                "username {value:?} is longer than {MAX_USERNAME_LEN} characters"
            ));
        }
        if !value.chars().all(inner) {
            return Err(format!(
                "username {value:?} may only contain letters, digits, '_', '.' and '-'"
            ));
        }
        let starts = value.chars().next().is_some_and(edge);
        let ends = value.chars().last().is_some_and(edge);
        if !starts || !ends {
            return Err(format!(
                "username {value:?} must start and end with a letter, digit or '_'"
            ));
        }
        Ok(Username(value.to_owned()))
    }

    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A plausible email address: one `@`, non-empty local part, a dotted or
/// `localhost` domain, no spaces, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Validates an email address.
    pub fn parse(value: &str) -> Result<Email, String> {
        let bad = || format!("{value:?} is not a valid email address");
        let (local, domain) = value.split_once('@').ok_or_else(bad)?;
        let ok = !local.is_empty()
            && !domain.is_empty()
            && value.len() <= 254
            && !domain.contains('@')
            && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            && !domain.starts_with('.')
            && !domain.ends_with('.');
        if ok {
            Ok(Email(value.to_owned()))
        } else {
            Err(bad())
        }
    }
}

/// Passwords: 8 to 72 characters, as Mastodon requires.
pub fn check_password(password: &str) -> Result<(), String> {
    match password.chars().count() {
        0..=7 => Err("the password must be at least 8 characters long".into()),
        73.. => Err("the password must be at most 72 characters long".into()),
        _ => Ok(()),
    }
}

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// The username, email or password was rejected.
    #[error("{0}")]
    Invalid(String),
    /// The username or email already belongs to someone.
    #[error("the {0} is already taken")]
    Taken(&'static str),
    /// Anything else (database, key generation).
    #[error(transparent)]
    Internal(#[from] Internal),
}

/// What the admin CLI or registration asks for.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Desired username.
    pub username: String,
    /// Email (the login).
    pub email: String,
    /// Plain-text password; hashed with argon2 here and never stored.
    pub password: String,
    /// Whether the user administers the node.
    pub admin: bool,
}

/// Creates a local user with a fresh RSA-2048 key pair and an argon2 password
/// hash.
pub async fn create_local_user(app: &App, new: NewUser) -> Result<DbUser, CreateUserError> {
    let username = Username::parse(&new.username).map_err(CreateUserError::Invalid)?;
    let email = Email::parse(&new.email).map_err(CreateUserError::Invalid)?;
    check_password(&new.password).map_err(CreateUserError::Invalid)?;

    // Key generation and hashing are CPU-heavy: keep them off the executor.
    let password = new.password;
    let (key, password_hash) = tokio::task::spawn_blocking(move || {
        let key = starling_federation::keys::generate_rsa_2048()
            .map_err(|e| Internal::Crypto(e.to_string()))?;
        let hash = hash_password(&password)?;
        Ok::<_, Internal>((key, hash))
    })
    .await
    .map_err(|e| Internal::Crypto(e.to_string()))??;

    let row = NewLocalUser {
        account_id: app.ids().next(),
        user_id: app.ids().next(),
        username: username.as_str().to_owned(),
        email: email.0,
        password_hash,
        admin: new.admin,
        public_key_pem: key.public_pem,
        private_key_pem: key.private_pem,
        created_at: crate::store::now_ms(),
    };
    match app.store().insert_local_user(&row).await {
        Ok(()) => {}
        Err(StoreError::Conflict(what)) => return Err(CreateUserError::Taken(what)),
        Err(e) => return Err(Internal::Store(e).into()),
    }
    let account = app
        .store()
        .local_account_by_username(&row.username)
        .await
        .map_err(Internal::Store)?
        .ok_or_else(|| Internal::Corrupt("the new account vanished".into()))?;
    Ok(DbUser {
        id: row.user_id,
        account,
        email: row.email,
        password_hash: row.password_hash,
        admin: row.admin,
    })
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, Internal> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| Internal::Crypto("no randomness".into()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Internal::Crypto(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Internal::Crypto(e.to_string()))
}

/// Whether `password` matches the stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_mastodon_rules() {
        for ok in [
            "alice",
            "Alice_1",
            "a",
            "_",
            "a.b-c",
            "x_",
            "a-b.c_d",
            "abcdefghijklmnopqrstuvwxyz0123",
        ] {
            assert!(Username::parse(ok).is_ok(), "{ok} should be valid");
        }
        for bad in [
            "",
            ".alice",
            "alice.",
            "-bob",
            "bob-",
            "al ice",
            "al@ice",
            "ünïcode",
            "abcdefghijklmnopqrstuvwxyz01234",
            "a/b",
            "a:b",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn emails_and_passwords_are_checked() {
        assert!(Email::parse("alice@example.com").is_ok());
        assert!(Email::parse("alice@localhost").is_ok());
        for bad in [
            "alice",
            "@example.com",
            "alice@",
            "a b@c.d",
            "a@b@c",
            "a@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
        assert!(check_password(&"x".repeat(73)).is_err());
    }

    #[test]
    fn password_hashes_verify_only_the_right_password() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
