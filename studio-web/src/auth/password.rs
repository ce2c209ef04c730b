//! Passwords: argon2id hashes (PHC strings), computed on a small pool of threads of their own
//! so a burst of logins never stalls the async executor. A password value never prints itself.

use std::fmt;

use anyhow::Context;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest accepted, in bytes: hashing cost grows with length.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A password that met the length rules. Its Debug output is redacted.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// The password, or the message key of what is wrong with it.
    pub fn parse(s: &str) -> Result<Password, &'static str> {
        if s.len() > MAX_PASSWORD_BYTES {
            Err("validation.too_long")
        } else if s.chars().count() < MIN_PASSWORD_CHARS {
            Err("validation.password_short")
        } else {
            Ok(Password(s.to_string()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Hashes and checks passwords on a pool of one thread per core. Each argon2 run takes about
/// 19 MiB and a core for tens of milliseconds, so a login storm must queue rather than run
/// hundreds at once (a load run of 3000 logins, 200 at a time, peaked at 8 GB that way). The
/// threads are long-lived: each reuses the memory of its last run. On the runtime's blocking
/// threads every run could land on another thread and malloc arena, each arena keeping its
/// last 19 MiB (300–400 MB per server after 600 logins; `gala bench load`).
pub struct Hasher {
    pool: rayon::ThreadPool,
}

impl Default for Hasher {
    fn default() -> Hasher {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cores)
            .thread_name(|i| format!("argon2-{i}"))
            .panic_handler(|_| tracing::error!("a password hashing thread panicked"))
            .build()
            .expect("password hashing threads");
        Hasher { pool }
    }
}

impl Hasher {
    /// The argon2id PHC hash of `password` with a fresh salt.
    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.clone();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2: {e}"))
        })
        .await
    }

    /// Whether `password` matches `phc`. Any text is checked (also one too short to set
    /// today), but an over-long one is refused without hashing.
    pub async fn verify(&self, password: &str, phc: &str) -> anyhow::Result<bool> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(false);
        }
        let (password, phc) = (password.to_string(), phc.to_string());
        self.run(move || {
            let parsed =
                PasswordHash::new(&phc).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
            Ok(Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await
    }

    /// Spends as long as a real check, so that an unknown email answers as slowly as a wrong
    /// password and timing does not tell which accounts exist.
    pub async fn verify_nobody(&self, password: &str) -> anyhow::Result<()> {
        let p = Password(password.chars().take(MAX_PASSWORD_BYTES / 4).collect());
        self.hash(&p).await.map(drop)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            let _ = tx.send(work());
        });
        rx.await.context("password hashing thread")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let hasher = Hasher::default();
        let p = Password::parse("correct horse").unwrap();
        let h = hasher.hash(&p).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(hasher.verify("correct horse", &h).await.unwrap());
        assert!(!hasher.verify("correct hors", &h).await.unwrap());
        assert_ne!(h, hasher.hash(&p).await.unwrap(), "salted");
    }

    #[test]
    fn length_rules_and_redaction() {
        assert_eq!(
            Password::parse("short").unwrap_err(),
            "validation.password_short"
        );
        assert_eq!(
            Password::parse(&"x".repeat(1025)).unwrap_err(),
            "validation.too_long"
        );
        let p = Password::parse("secret-words").unwrap();
        assert!(!format!("{p:?}").contains("secret"));
    }
}
