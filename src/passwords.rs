//! Passwords: which are acceptable, and Argon2id hashing whose cost to the process is
//! bounded.
//!
//! One Argon2id hash (the crate's recommended parameters) works through 19 MiB of memory
//! and a few dozen milliseconds of a core, and anyone can ask for one by signing in. So
//! every hash a request asks for takes one of [`SLOTS`] slots, each with its working memory
//! allocated once and reused: however many sign-ins arrive at once, hashing holds at most
//! `SLOTS` × 19 MiB and `SLOTS` cores, off the async threads. A request that cannot get a
//! slot within [`WAIT`] is told to try again ([`Busy`]).

use std::{sync::Mutex, time::Duration};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{Output, PasswordHash, Salt},
};
use tokio::sync::Semaphore;

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 256;
/// Hashes computed at once in this process.
pub const SLOTS: usize = 2;
/// How long a request waits for a slot before it is refused.
pub const WAIT: Duration = Duration::from_secs(5);

/// Common passwords of at least [`MIN_LEN`] characters, lower case, one a line: those of
/// the 20,000 most common passwords (the list Django's CommonPasswordValidator ships,
/// compiled by Royce Williams from leaked password sets) that are long enough to pass the
/// length rule.
const COMMON: &str = include_str!("common_passwords.txt");

/// Why a password is refused, in words for the person choosing it.
pub fn problem(password: &str) -> Option<&'static str> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Some("the password must be at least 10 characters long");
    }
    if len > MAX_LEN {
        return Some("the password must be at most 256 characters long");
    }
    if is_common(password) {
        return Some("that password is among the most common ones, which are tried first; choose another");
    }
    None
}

/// Whether `password` is on the list of common passwords, ignoring case.
pub fn is_common(password: &str) -> bool {
    static LIST: std::sync::OnceLock<std::collections::HashSet<&'static str>> = std::sync::OnceLock::new();
    let list = LIST.get_or_init(|| COMMON.lines().map(str::trim).filter(|l| !l.is_empty()).collect());
    list.contains(password.to_lowercase().as_str())
}

/// Every hashing slot was busy for [`WAIT`].
#[derive(Debug, thiserror::Error)]
#[error("too many passwords are being checked at once")]
pub struct Busy;

/// Hashes a new password on a slot.
pub async fn hash(password: &str) -> Result<String, Busy> {
    let password = password.to_string();
    on_a_slot(move |memory| hash_with(&password, memory)).await
}

/// Whether `password` matches `hash` (a PHC string), checked on a slot. A hash that cannot
/// be read matches nothing.
pub async fn verify(password: &str, hash: &str) -> Result<bool, Busy> {
    let (password, hash) = (password.to_string(), hash.to_string());
    on_a_slot(move |memory| verify_with(&password, &hash, memory)).await
}

/// The same hash without a slot, for the command line and tests (one at a time, outside
/// any request).
pub fn hash_blocking(password: &str) -> String {
    hash_with(password, &mut Vec::new())
}

/// The same check without a slot (see [`hash_blocking`]).
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    verify_with(password, hash, &mut Vec::new())
}

/// Checks `password` against a hash of a password nobody has (made once, on a slot), for
/// a sign-in that names an unknown address: it takes as long as a wrong password, and
/// matches nothing.
pub async fn verify_nobody(password: &str) -> Result<bool, Busy> {
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let hash = HASH.get_or_try_init(|| async { hash(&crate::crypto::random_token(16)).await }).await?;
    verify(password, hash).await.map(|_| false)
}

/// Runs `work` on a blocking thread with one slot's memory.
async fn on_a_slot<T: Send + 'static>(work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static) -> Result<T, Busy> {
    static PERMITS: Semaphore = Semaphore::const_new(SLOTS);
    static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());
    let _permit = tokio::time::timeout(WAIT, PERMITS.acquire()).await.map_err(|_| Busy)?.map_err(|_| Busy)?;
    // With a permit held, at most SLOTS buffers exist: each permit holder takes one back.
    let mut memory = MEMORY.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default();
    let (value, memory) = tokio::task::spawn_blocking(move || {
        let value = work(&mut memory);
        (value, memory)
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    MEMORY.lock().unwrap_or_else(|e| e.into_inner()).push(memory);
    Ok(value)
}

fn argon2(algorithm: Algorithm, version: Version, params: Params) -> Argon2<'static> {
    Argon2::new(algorithm, version, params)
}

/// Argon2id with the crate's recommended parameters, into `memory` (grown to fit once).
fn hash_with(password: &str, memory: &mut Vec<Block>) -> String {
    let params = Params::default();
    let salt: [u8; 16] = rand::random();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let hasher = argon2(Algorithm::Argon2id, Version::V0x13, params.clone());
    memory.resize(params.block_count(), Block::default());
    hasher
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut memory[..])
        .expect("the recommended parameters, a 16-byte salt and any password up to 4 GiB are valid");
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params).try_into().expect("the recommended parameters are representable"),
        salt: Some(Salt::new(&salt).expect("16 bytes is a valid salt")),
        hash: Some(Output::new(&out).expect("32 bytes is a valid output")),
    };
    phc.to_string()
}

fn verify_with(password: &str, hash: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(phc) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else { return false };
    let Ok(version) = phc.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&phc) else { return false };
    // Parameters are read from stored hashes, which Fulcrum wrote: memory no larger than its own.
    if params.block_count() > Params::default().block_count() {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    memory.resize(params.block_count(), Block::default());
    let hasher = argon2(algorithm, version, params.clone());
    if hasher.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..]).is_err() {
        return false;
    }
    crate::crypto::constant_time_eq(&out, expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_blocking("correct horse battery");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_blocking("correct horse battery", &hash));
        assert!(!verify_blocking("wrong horse battery", &hash));
        assert!(!verify_blocking("anything", "not a hash"));
        // Hashes made by the argon2 crate's own API verify too, and the other way round.
        let theirs = Argon2::default().hash_password(b"correct horse battery").unwrap().to_string();
        assert!(verify_blocking("correct horse battery", &theirs));
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
    }

    #[test]
    fn short_long_and_common_passwords_are_refused() {
        assert!(problem("short").unwrap().contains("at least 10"));
        assert!(problem(&"x".repeat(257)).unwrap().contains("at most 256"));
        for common in ["password12", "PASSWORD12", "1234567890", "qwertyuiop", "Basketball"] {
            assert!(problem(common).unwrap().contains("most common"), "{common}");
        }
        assert_eq!(problem("correct horse battery"), None);
        assert!(COMMON.lines().count() > 1500);
        assert!(COMMON.lines().all(|l| l.chars().count() >= MIN_LEN && l == l.to_lowercase()));
    }

    #[tokio::test]
    async fn slots_hash_and_verify() {
        let hash = hash("correct horse battery").await.unwrap();
        assert_eq!(verify("correct horse battery", &hash).await.ok(), Some(true));
        assert_eq!(verify("wrong", &hash).await.ok(), Some(false));
    }
}
