//! Fuzz target: RFC 4648 base32 decoding (TOTP secrets typed or pasted by users) and the
//! TOTP code check over arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_core::Timestamp;
use mamori_server::auth::totp::{base32_decode, base32_encode, verify_totp};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(bytes) = base32_decode(&text) {
        // Canonical re-encoding decodes to the same bytes.
        let again = base32_decode(&base32_encode(&bytes));
        assert_eq!(again.as_deref(), Ok(bytes.as_slice()));
    }
    // Arbitrary bytes as a secret and arbitrary text as a code never panic.
    let now = Timestamp::from_unix_secs(1_700_000_000);
    let _ = verify_totp(data, &text, now, None);
    let _ = verify_totp(b"12345678901234567890", &text, now, Some(u64::MAX));
});
