//! Keys for personal data, and sealing with them.
//!
//! # Keys
//!
//! A keyring is an ordered list of 256-bit keys: the **first** is the current key (every new
//! seal uses it), the others are older keys kept so that what they sealed still opens. The
//! **last** key is the original one; the blind-index key is derived from it, so blind indexes
//! stay valid across rotations. Each key has an id derived from the key itself (8 hex
//! digits), which is written beside every ciphertext.
//!
//! Where the keys come from, in this order:
//! 1. Configuration: `YIDU_DATA_KEY` (or the config file) holding the keys in standard
//!    base64, separated by commas or new lines, current first. **Several app instances on one
//!    database must share the same value**: give them all the same `YIDU_DATA_KEY` (from the
//!    deployment's secret store). [`Keyring::export`] prints the value for an existing key file.
//! 2. Otherwise the file `personal-data.key` in the data directory, created with a fresh random
//!    key on first start with mode 0600. A key file that group or others can access is refused.
//!
//! Back the keys up apart from the database: without them, names and phone numbers cannot be
//! read again. To rotate, prepend a new key ([`Keyring::rotate_file`] or by editing the
//! configuration) and keep the old ones; values sealed with an old key still open, and can be
//! re-sealed in the background with [`Keyring::needs_reseal`].
//!
//! # Sealed form
//!
//! `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`: AES-256-GCM with a random 96-bit nonce,
//! the `v1.<key id>` header bound as associated data.

use crate::error::PrivacyError;
use crate::secret::Secret;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The environment variable that gives the keys by configuration.
pub const KEY_ENV: &str = "YIDU_DATA_KEY";
/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "personal-data.key";

const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

struct DataKey {
    id: String,
    bytes: Secret<[u8; KEY_LEN]>,
    cipher: Aes256Gcm,
}

impl DataKey {
    fn new(bytes: [u8; KEY_LEN]) -> DataKey {
        let id = hex::encode(&hmac(&bytes, b"yidu personal-data key id")[..4]);
        DataKey {
            id,
            cipher: Aes256Gcm::new(&bytes.into()),
            bytes: Secret::new(bytes),
        }
    }

    fn random() -> DataKey {
        let mut bytes = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut bytes);
        DataKey::new(bytes)
    }
}

struct Inner {
    /// Current key first, original key last.
    keys: Vec<DataKey>,
    index_key: Secret<[u8; KEY_LEN]>,
}

/// The keys for personal data. Cheap to clone (shared).
#[derive(Clone)]
pub struct Keyring {
    inner: Arc<Inner>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.key_ids())
            .finish_non_exhaustive()
    }
}

impl Keyring {
    fn from_keys(keys: Vec<DataKey>) -> Result<Keyring, PrivacyError> {
        let Some(original) = keys.last() else {
            return Err(PrivacyError::BadKey("no key given / 没有密钥".into()));
        };
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|other| other.id == k.id) {
                return Err(PrivacyError::BadKey(format!(
                    "key {} is listed twice / 密钥 {} 重复",
                    k.id, k.id
                )));
            }
        }
        let index_key = Secret::new(hmac(original.bytes.expose(), b"yidu blind index v1"));
        Ok(Keyring {
            inner: Arc::new(Inner { keys, index_key }),
        })
    }

    /// A keyring with one fresh random key.
    pub fn generate() -> Keyring {
        Keyring::from_keys(vec![DataKey::random()]).expect("one key")
    }

    /// This keyring with a fresh random key in front as the current key.
    pub fn rotated(&self) -> Keyring {
        let mut keys = vec![DataKey::random()];
        keys.extend(
            self.inner
                .keys
                .iter()
                .map(|k| DataKey::new(*k.bytes.expose())),
        );
        Keyring::from_keys(keys).expect("a fresh key differs from the old ones")
    }

    /// Keys given by configuration: standard base64 (URL-safe and unpadded forms are accepted
    /// too) of 32 bytes each, separated by commas or new lines, current first; `#` starts a
    /// comment line.
    pub fn from_config(value: &str) -> Result<Keyring, PrivacyError> {
        let keys = value
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
            .map(|(i, s)| {
                decode_key(s).map_err(|why| PrivacyError::BadKey(format!("key #{}: {why}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Keyring::from_keys(keys)
    }

    /// The keys in the configuration format (current first), to give other instances the
    /// same keys through `YIDU_DATA_KEY`. Secret: never log it.
    pub fn export(&self) -> Secret<String> {
        let keys: Vec<String> = self
            .inner
            .keys
            .iter()
            .map(|k| STANDARD.encode(k.bytes.expose()))
            .collect();
        Secret::new(keys.join(","))
    }

    /// The keyring from configuration when it is given (non-blank), else from the data
    /// directory's key file, created on first start.
    pub fn configured(config: Option<&str>, data_dir: &Path) -> Result<Keyring, PrivacyError> {
        match config.filter(|c| !c.trim().is_empty()) {
            Some(value) => Keyring::from_config(value),
            None => Keyring::load_or_create(data_dir),
        }
    }

    /// Reads `<data_dir>/personal-data.key`, or creates it (mode 0600) with a fresh key.
    /// Refuses a key file that group or others can access.
    pub fn load_or_create(data_dir: &Path) -> Result<Keyring, PrivacyError> {
        let path = data_dir.join(KEY_FILE);
        if path.exists() {
            return read_key_file(&path);
        }
        fs::create_dir_all(data_dir).map_err(|e| file_err(data_dir, e))?;
        let ring = Keyring::generate();
        // Written in full under a private temporary name, then linked into place: an instance
        // starting at the same moment sees either no key file or a complete one, and if it
        // linked first, its key is the one everybody uses.
        let tmp = write_temp_key_file(data_dir, &ring)?;
        let linked = fs::hard_link(&tmp, &path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                sync_dir(data_dir);
                Ok(ring)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key_file(&path),
            Err(e) => Err(file_err(&path, e)),
        }
    }

    /// Puts a fresh current key in front of the data directory's key file (kept at mode 0600,
    /// replaced atomically) and returns the new keyring.
    pub fn rotate_file(data_dir: &Path) -> Result<Keyring, PrivacyError> {
        let path = data_dir.join(KEY_FILE);
        let ring = read_key_file(&path)?.rotated();
        let tmp = write_temp_key_file(data_dir, &ring)?;
        fs::rename(&tmp, &path).map_err(|e| file_err(&path, e))?;
        sync_dir(data_dir);
        Ok(ring)
    }

    /// The id of the key new seals use.
    pub fn current_key_id(&self) -> &str {
        &self.inner.keys[0].id
    }

    /// All key ids, current first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.inner.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Encrypts `plaintext` with the current key: `v1.<key id>.<base64url>`.
    pub fn seal(&self, plaintext: &str) -> String {
        let key = &self.inner.keys[0];
        let header = format!("{VERSION}.{}", key.id);
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let sealed = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: header.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer does not fail");
        let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&sealed);
        format!("{header}.{}", URL_SAFE_NO_PAD.encode(body))
    }

    /// Decrypts a value made by [`Keyring::seal`] with any key of the ring.
    pub fn open(&self, sealed: &str) -> Result<String, PrivacyError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(PrivacyError::Malformed);
        };
        let key = self
            .inner
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| PrivacyError::UnknownKey(id.to_string()))?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| PrivacyError::Malformed)?;
        if body.len() < NONCE_LEN + TAG_LEN {
            return Err(PrivacyError::Malformed);
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let header = &sealed[..VERSION.len() + 1 + id.len()];
        let plain = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: header.as_bytes(),
                },
            )
            .map_err(|_| PrivacyError::Tampered)?;
        String::from_utf8(plain).map_err(|_| PrivacyError::Malformed)
    }

    /// [`Keyring::seal`] for optional fields (anonymous submissions have no name or phone).
    pub fn seal_opt(&self, plaintext: Option<&str>) -> Option<String> {
        plaintext.map(|p| self.seal(p))
    }

    /// [`Keyring::open`] for optional fields.
    pub fn open_opt(&self, sealed: Option<&str>) -> Result<Option<String>, PrivacyError> {
        sealed.map(|s| self.open(s)).transpose()
    }

    /// Whether a sealed value uses an older key and should be re-sealed with the current one.
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        sealed
            .split('.')
            .nth(1)
            .is_some_and(|id| id != self.current_key_id())
    }

    /// A keyed hash of an already normalized value (for phones: [`crate::Phone::as_str`]) for
    /// equality look-ups and rate limits without decrypting: 32 hex digits of
    /// HMAC-SHA256(index key, kind ‖ 0x1f ‖ value). `kind` keeps e.g. phones and addresses apart.
    /// The index key is derived from the ring's original key, so rotation keeps indexes valid.
    pub fn blind_index(&self, kind: &str, normalized_value: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(self.inner.index_key.expose())
            .expect("HMAC takes any key length");
        mac.update(kind.as_bytes());
        mac.update(&[0x1f]);
        mac.update(normalized_value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// The blind index of a phone number (kind "phone").
    pub fn phone_index(&self, phone: &crate::Phone) -> String {
        self.blind_index("phone", phone.as_str())
    }
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn decode_key(s: &str) -> Result<DataKey, String> {
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(s).ok())
        .ok_or("not base64 / 不是 base64 编码")?;
    let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|b: Vec<u8>| {
        format!(
            "{} bytes instead of 32 / 长度为 {} 字节，应为 32 字节",
            b.len(),
            b.len()
        )
    })?;
    Ok(DataKey::new(bytes))
}

fn file_err(path: &Path, source: std::io::Error) -> PrivacyError {
    PrivacyError::KeyFile {
        path: path.to_path_buf(),
        source,
    }
}

fn read_key_file(path: &Path) -> Result<Keyring, PrivacyError> {
    check_mode(path)?;
    let text = fs::read_to_string(path).map_err(|e| file_err(path, e))?;
    Keyring::from_config(&text)
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), PrivacyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path)
        .map_err(|e| file_err(path, e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(PrivacyError::KeyFileExposed {
            path: PathBuf::from(path),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path) -> Result<(), PrivacyError> {
    Ok(())
}

const FILE_HEADER: &str = "\
# yidu personal-data keys (AES-256-GCM), base64, one per line: the current key first,
# the original key last (it also derives the blind-index key). Keep this file secret
# (mode 0600) and back it up apart from the database: without it, encrypted names and
# phone numbers cannot be read. Other instances get the same keys through YIDU_DATA_KEY
# (the lines below joined with commas).
";

/// Writes the keyring to a new file, readable by its owner only and flushed to disk, under a
/// temporary name in `dir`; returns that name.
fn write_temp_key_file(dir: &Path, ring: &Keyring) -> Result<PathBuf, PrivacyError> {
    let path = dir.join(format!(
        ".{KEY_FILE}.{}.{:016x}.tmp",
        std::process::id(),
        OsRng.next_u64()
    ));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(|e| file_err(&path, e))?;
    let body = format!(
        "{FILE_HEADER}{}\n",
        ring.export().expose().replace(',', "\n")
    );
    let written = file
        .write_all(body.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = fs::remove_file(&path);
        return Err(file_err(&path, e));
    }
    Ok(path)
}

/// Makes a new directory entry durable (best effort: not every platform allows it).
fn sync_dir(dir: &Path) {
    let _ = fs::File::open(dir).and_then(|d| d.sync_all());
}
