//! Secrets at rest: broker API secrets, OAuth tokens and TOTP secrets are sealed
//! with ChaCha20-Poly1305 under the application key before they are stored.
//!
//! A sealed value reads `v1:<key id>:<base64(nonce ‖ ciphertext)>`. The key id
//! (the first 8 hex digits of the key's SHA-256) says which key of the ring
//! opened it, so `dripfeed admin rotate-key` can put a new key first and
//! re-encrypt everything while older keys still open what is not yet rewritten.
//! Each value is bound to where it is stored (the associated data, e.g.
//! `users.totp_secret:42`), so a sealed value copied to another row or column
//! does not open.
//!
//! The ring comes from `DRIPFEED_SECRET_KEY` (base64 keys, comma-separated,
//! current first) or else from `<data dir>/secret.key` (one key per line,
//! current first), created with mode 0600 on first start.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;
pub const KEY_FILE: &str = "secret.key";

/// The application's keys, newest (current) first.
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<(String, Key)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("KeyRing").field("key_ids", &ids).finish()
    }
}

/// Why a sealed value did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("not a sealed value")]
    Malformed,
    #[error("sealed under key {0}, which is not in the key ring")]
    UnknownKey(String),
    #[error("the value does not open with its key (tampered, or stored elsewhere)")]
    Forged,
}

fn key_id(key: &Key) -> String {
    hex::encode(&Sha256::digest(key.as_slice())[..4])
}

impl KeyRing {
    /// A ring of one freshly generated key.
    pub fn generate() -> Self {
        let key = ChaCha20Poly1305::generate_key(&mut OsRng);
        Self {
            keys: vec![(key_id(&key), key)],
        }
    }

    /// Parses base64 keys separated by commas, spaces or newlines, current first.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        for (n, item) in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            let bytes = B64
                .decode(item)
                .map_err(|_| anyhow::anyhow!("key {} is not valid base64", n + 1))?;
            if bytes.len() != 32 {
                bail!(
                    "key {} is {} bytes; keys are 32 bytes (44 base64 characters)",
                    n + 1,
                    bytes.len()
                );
            }
            let key = *Key::from_slice(&bytes);
            keys.push((key_id(&key), key));
        }
        if keys.is_empty() {
            bail!("no keys found");
        }
        Ok(Self { keys })
    }

    /// The ring as text for the key file: one base64 key per line, current first.
    pub fn to_text(&self) -> SecretString {
        let lines: Vec<String> = self.keys.iter().map(|(_, k)| B64.encode(k)).collect();
        SecretString::from(lines.join("\n") + "\n")
    }

    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    pub fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|(id, _)| id.clone()).collect()
    }

    /// This ring with a new key in front; the old keys stay to open old values.
    pub fn with_new_key(&self) -> Self {
        let mut next = Self::generate();
        next.keys.extend(self.keys.iter().cloned());
        next
    }

    /// Seals `plaintext` under the current key, bound to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let (id, key) = &self.keys[0];
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = ChaCha20Poly1305::new(key)
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .unwrap_or_else(|_| unreachable!("ChaCha20-Poly1305 encryption does not fail"));
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        format!("{VERSION}:{id}:{}", B64.encode(blob))
    }

    /// Opens a value sealed by any key of the ring for the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, OpenError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(VERSION), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(OpenError::Malformed);
        };
        let key = self
            .keys
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, key)| key)
            .ok_or_else(|| OpenError::UnknownKey(id.to_owned()))?;
        let blob = B64.decode(body).map_err(|_| OpenError::Malformed)?;
        if blob.len() < NONCE_LEN {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        ChaCha20Poly1305::new(key)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Forged)
    }

    /// The key id a sealed value names, if it is well-formed.
    pub fn key_id_of(sealed: &str) -> Option<&str> {
        let mut parts = sealed.splitn(3, ':');
        match (parts.next(), parts.next()) {
            (Some(VERSION), Some(id)) => Some(id),
            _ => None,
        }
    }
}

/// Where the ring came from, so it can be re-read after a rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    File(PathBuf),
}

/// The key ring in use by this process. If a value names a key the ring lacks
/// and the ring came from the key file, the file is read again once: another
/// process may have rotated the key.
#[derive(Debug)]
pub struct Secrets {
    ring: RwLock<KeyRing>,
    source: KeySource,
}

impl Secrets {
    pub fn new(ring: KeyRing, source: KeySource) -> Self {
        Self {
            ring: RwLock::new(ring),
            source,
        }
    }

    /// Loads the ring from `configured` (the environment) or the key file in
    /// `data_dir`, creating the file with a new key if there is none.
    pub fn load(configured: Option<&SecretString>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(text) = configured {
            let ring = KeyRing::parse(text.expose_secret()).context("DRIPFEED_SECRET_KEY")?;
            return Ok(Self::new(ring, KeySource::Environment));
        }
        let path = data_dir.join(KEY_FILE);
        let ring = if path.exists() {
            read_key_file(&path)?
        } else {
            let ring = KeyRing::generate();
            write_key_file(&path, &ring)?;
            tracing::warn!(
                path = %path.display(),
                key_id = %ring.current_id(),
                "GENERATED A NEW APPLICATION ENCRYPTION KEY at {}. Back this file up now: \
                 without it, stored broker credentials and 2FA secrets cannot be read. \
                 Or set DRIPFEED_SECRET_KEY.",
                path.display()
            );
            ring
        };
        Ok(Self::new(ring, KeySource::File(path)))
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }

    pub fn ring(&self) -> KeyRing {
        self.ring.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        self.ring
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .seal(plaintext, context)
    }

    pub fn open(&self, sealed: &str, context: &str) -> anyhow::Result<Vec<u8>> {
        let first = self
            .ring
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .open(sealed, context);
        match (first, &self.source) {
            (Err(OpenError::UnknownKey(_)), KeySource::File(path)) => {
                let fresh = read_key_file(path)?;
                let opened = fresh.open(sealed, context);
                *self.ring.write().unwrap_or_else(|e| e.into_inner()) = fresh;
                Ok(opened?)
            }
            (result, _) => Ok(result?),
        }
    }

    /// Replaces the ring (after a rotation) and, for a file ring, the file.
    pub fn replace(&self, ring: KeyRing) -> anyhow::Result<()> {
        if let KeySource::File(path) = &self.source {
            write_key_file(path, &ring)?;
        }
        *self.ring.write().unwrap_or_else(|e| e.into_inner()) = ring;
        Ok(())
    }
}

fn read_key_file(path: &Path) -> anyhow::Result<KeyRing> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key file {}", path.display()))?;
    KeyRing::parse(&text).with_context(|| format!("the key file {}", path.display()))
}

/// Writes the key file readable by its owner only, replacing it atomically.
fn write_key_file(path: &Path, ring: &KeyRing) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("key.tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(ring.to_text().expose_secret().as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_with_its_context_only() {
        let ring = KeyRing::generate();
        let sealed = ring.seal(b"JBSWY3DPEHPK3PXP", "users.totp_secret:1");
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(
            ring.open(&sealed, "users.totp_secret:1").unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert_eq!(
            ring.open(&sealed, "users.totp_secret:2"),
            Err(OpenError::Forged)
        );
    }

    #[test]
    fn the_same_secret_seals_differently_each_time() {
        let ring = KeyRing::generate();
        assert_ne!(ring.seal(b"x", "c"), ring.seal(b"x", "c"));
    }

    #[test]
    fn a_tampered_value_does_not_open() {
        let ring = KeyRing::generate();
        let sealed = ring.seal(b"secret", "c");
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(ring.open(&tampered, "c").is_err());
    }

    #[test]
    fn after_rotation_old_values_still_open_and_new_ones_use_the_new_key() {
        let old = KeyRing::generate();
        let sealed_old = old.seal(b"one", "c");
        let new = old.with_new_key();
        assert_ne!(new.current_id(), old.current_id());
        assert_eq!(new.open(&sealed_old, "c").unwrap(), b"one");
        let sealed_new = new.seal(b"two", "c");
        assert_eq!(KeyRing::key_id_of(&sealed_new), Some(new.current_id()));
        assert_eq!(
            old.open(&sealed_new, "c"),
            Err(OpenError::UnknownKey(new.current_id().to_owned()))
        );
    }

    #[test]
    fn the_ring_round_trips_through_text_and_rejects_bad_keys() {
        let ring = KeyRing::generate().with_new_key();
        let parsed = KeyRing::parse(ring.to_text().expose_secret()).unwrap();
        assert_eq!(parsed.key_ids(), ring.key_ids());
        assert!(KeyRing::parse("not base64!").is_err());
        assert!(
            KeyRing::parse(&B64.encode([0u8; 16]))
                .unwrap_err()
                .to_string()
                .contains("32 bytes")
        );
        assert!(KeyRing::parse("").is_err());
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = Secrets::load(None, dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Secrets::load(None, dir.path()).unwrap();
        assert_eq!(first.ring().key_ids(), again.ring().key_ids());
    }

    #[test]
    fn a_process_picks_up_a_key_rotated_by_another() {
        let dir = tempfile::tempdir().unwrap();
        let running = Secrets::load(None, dir.path()).unwrap();
        let admin = Secrets::load(None, dir.path()).unwrap();
        admin.replace(admin.ring().with_new_key()).unwrap();
        let sealed = admin.seal(b"token", "c");
        assert_eq!(running.open(&sealed, "c").unwrap(), b"token");
    }
}
