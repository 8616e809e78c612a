//! The secret key and what it protects: AES-256-GCM for Lever tokens and signature tokens
//! at rest, plus the random tokens and one-way hashes used for sessions, API keys, OAuth
//! state and candidate links.

use std::path::Path;

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use anyhow::{Context, bail};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD},
};
use sha2::{Digest, Sha256};

use crate::config::Settings;

/// Ciphertexts read `v1.{key id}.{base64(nonce ‖ ciphertext)}` so that a key rotation
/// can tell which key made each one.
const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;

/// The current key plus earlier ones kept for decryption during a rotation.
#[derive(Clone)]
pub struct Cipher {
    current: Key,
    previous: Vec<Key>,
}

#[derive(Clone)]
struct Key {
    id: String,
    aead: Aes256Gcm,
}

impl Key {
    fn new(bytes: [u8; 32]) -> Self {
        let id = hex::encode(&Sha256::digest(bytes)[..4]);
        Self { id, aead: Aes256Gcm::new(&bytes.into()) }
    }
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher").field("key_id", &self.current.id).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("ciphertext was made with key {0}, which is not configured")]
    UnknownKey(String),
    #[error("ciphertext failed authentication")]
    Tampered,
}

impl Cipher {
    pub fn new(current: [u8; 32], previous: &[[u8; 32]]) -> Self {
        Self { current: Key::new(current), previous: previous.iter().copied().map(Key::new).collect() }
    }

    /// The key from settings, or in development the one kept in `{data_dir}/secret.key`
    /// (generated on first use).
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let current = match &settings.secret_key {
            Some(key) => parse_key(key.expose()).context("FULCRUM_SECRET_KEY")?,
            None => development_key(&settings.database.data_dir)?,
        };
        let previous = settings
            .previous_secret_keys
            .iter()
            .map(|k| parse_key(k.expose()))
            .collect::<anyhow::Result<Vec<_>>>()
            .context("FULCRUM_SECRET_KEY_PREVIOUS")?;
        Ok(Self::new(current, &previous))
    }

    /// Encrypts `plaintext`; `context` (e.g. `"lever-refresh:{org id}"`) is bound in as
    /// associated data so a ciphertext copied to another row or column will not decrypt.
    pub fn encrypt(&self, plaintext: &str, context: &str) -> String {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let nonce = Nonce::from(nonce_bytes);
        let sealed = self
            .current
            .aead
            .encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() })
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut blob = nonce_bytes.to_vec();
        blob.extend_from_slice(&sealed);
        format!("{VERSION}.{}.{}", self.current.id, URL_SAFE_NO_PAD.encode(blob))
    }

    pub fn decrypt(&self, ciphertext: &str, context: &str) -> Result<String, DecryptError> {
        let mut parts = ciphertext.splitn(3, '.');
        let (Some(VERSION), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(DecryptError::Malformed);
        };
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
            .ok_or_else(|| DecryptError::UnknownKey(key_id.to_string()))?;
        let blob = URL_SAFE_NO_PAD.decode(body).map_err(|_| DecryptError::Malformed)?;
        if blob.len() < NONCE_LEN {
            return Err(DecryptError::Malformed);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| DecryptError::Malformed)?;
        let plain = key
            .aead
            .decrypt(&nonce, Payload { msg: sealed, aad: context.as_bytes() })
            .map_err(|_| DecryptError::Tampered)?;
        String::from_utf8(plain).map_err(|_| DecryptError::Malformed)
    }

    /// True when `ciphertext` was made with an earlier key and should be re-encrypted.
    pub fn is_stale(&self, ciphertext: &str) -> bool {
        ciphertext.split('.').nth(1) != Some(self.current.id.as_str())
    }
}

/// 32 bytes given as 64 hex digits or as base64 (standard or URL-safe).
pub fn parse_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text)?
    } else {
        STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE.decode(text))
            .or_else(|_| URL_SAFE_NO_PAD.decode(text))
            .context("the key is neither hex nor base64")?
    };
    match <[u8; 32]>::try_from(bytes.as_slice()) {
        Ok(key) => Ok(key),
        Err(_) => bail!("the key must be exactly 32 bytes, got {}", bytes.len()),
    }
}

fn development_key(data_dir: &Path) -> anyhow::Result<[u8; 32]> {
    let path = data_dir.join("secret.key");
    if !path.exists() {
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let key: [u8; 32] = rand::random();
        // Written aside, then linked into place: two processes starting at once agree on
        // whichever key lands first, and nobody reads a half-written file.
        let draft = data_dir.join(format!("secret.key.{}", std::process::id()));
        write_private(&draft, &hex::encode(key))?;
        let linked = std::fs::hard_link(&draft, &path);
        std::fs::remove_file(&draft).ok();
        match linked {
            Ok(()) => tracing::info!(path = %path.display(), "generated a development secret key"),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    parse_key(&text).with_context(|| format!("reading {}", path.display()))
}

/// Creates `path` readable by its owner only; fails if it already exists.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// A random token of `bytes` bytes, URL-safe base64 without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a high-entropy token, hex. Enough for random tokens (sessions, API keys,
/// candidate links); passwords use Argon2id instead.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time equality for secrets compared against user input.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_context_binding() {
        let cipher = Cipher::new([7; 32], &[]);
        let sealed = cipher.encrypt("refresh-token", "lever:org-1");
        assert!(!sealed.contains("refresh-token"));
        assert_eq!(cipher.decrypt(&sealed, "lever:org-1").unwrap(), "refresh-token");
        assert!(matches!(cipher.decrypt(&sealed, "lever:org-2"), Err(DecryptError::Tampered)));
        assert_ne!(sealed, cipher.encrypt("refresh-token", "lever:org-1"), "fresh nonce each time");
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable() {
        let old = Cipher::new([1; 32], &[]);
        let sealed = old.encrypt("x", "c");
        let rotated = Cipher::new([2; 32], &[[1; 32]]);
        assert_eq!(rotated.decrypt(&sealed, "c").unwrap(), "x");
        assert!(rotated.is_stale(&sealed));
        assert!(!rotated.is_stale(&rotated.encrypt("x", "c")));
        let fresh = Cipher::new([2; 32], &[]);
        assert!(matches!(fresh.decrypt(&sealed, "c"), Err(DecryptError::UnknownKey(_))));
    }

    #[test]
    fn tampering_and_garbage_are_refused() {
        let cipher = Cipher::new([7; 32], &[]);
        let mut sealed = cipher.encrypt("secret", "c");
        sealed.push('A');
        assert!(cipher.decrypt(&sealed, "c").is_err());
        assert!(matches!(cipher.decrypt("nonsense", "c"), Err(DecryptError::Malformed)));
    }

    #[test]
    fn keys_parse_from_hex_and_base64() {
        let hex_key = "00".repeat(32);
        assert_eq!(parse_key(&hex_key).unwrap(), [0; 32]);
        assert_eq!(parse_key(&STANDARD.encode([9u8; 32])).unwrap(), [9; 32]);
        assert!(parse_key("abcd").is_err());
        assert!(parse_key(&STANDARD.encode([9u8; 16])).is_err());
    }
}
