//! The manifest signing key.
//!
//! Default location: `<parent of the data dir>/mamori-keys/manifest-signing.key`
//! (e.g. `./mamori-keys/` for `--data ./data`), i.e. outside the data directory so that
//! someone who can rewrite the data cannot re-sign it unnoticed. Set
//! [`crate::StoreConfig::key_dir`] to put it elsewhere (e.g. `$XDG_CONFIG_HOME/mamori/`
//! or a removable medium). The key is created on first start (mode 0600) as 64 hex
//! characters; the public key is written next to it (`.pub`) and into the data dir.

use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

use crate::error::{Result, StoreError};
use crate::manifest::{hex, unhex, write_durable};

/// File name of the secret key.
pub const KEY_FILE: &str = "manifest-signing.key";

/// Default key directory for a data directory.
pub fn default_key_dir(data: &Path) -> PathBuf {
    let abs = if data.is_absolute() {
        data.to_owned()
    } else {
        std::env::current_dir().map_or_else(|_| data.to_owned(), |d| d.join(data))
    };
    abs.parent()
        .map_or_else(|| PathBuf::from("mamori-keys"), |p| p.join("mamori-keys"))
}

/// Load the key in `dir`, creating it (and `dir`) on first use.
pub fn load_or_create(dir: &Path) -> Result<SigningKey> {
    let path = dir.join(KEY_FILE);
    let bad = |reason: String| StoreError::Key {
        path: path.clone(),
        reason,
    };
    match fs::read_to_string(&path) {
        Ok(text) => {
            let bytes =
                unhex::<32>(text.trim()).ok_or_else(|| bad("not 64 hex characters".into()))?;
            Ok(SigningKey::from_bytes(&bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| bad(format!("no randomness: {e}")))?;
            let key = SigningKey::from_bytes(&seed);
            write_secret(&path, format!("{}\n", hex(&seed)).as_bytes())?;
            write_durable(
                &dir.join(format!("{KEY_FILE}.pub")),
                format!("{}\n", hex(key.verifying_key().as_bytes())).as_bytes(),
            )?;
            Ok(key)
        }
        Err(e) => Err(StoreError::io(&path, e)),
    }
}

/// Create the secret key file readable by the owner only from the first byte, durably.
fn write_secret(path: &Path, body: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path).map_err(|e| StoreError::io(path, e))?;
    f.write_all(body)
        .and_then(|_| f.sync_all())
        .map_err(|e| StoreError::io(path, e))?;
    if let Some(d) = path.parent() {
        fs::File::open(d)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::io(d, e))?;
    }
    Ok(())
}
