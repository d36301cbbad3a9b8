//! The webhook signature: `sha256=` + hex HMAC-SHA256(secret, timestamp + "." + body).
//! The timestamp is in the `X-Yidu-Timestamp` header (Unix seconds), so a receiver can
//! refuse old deliveries as well as forged ones.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a received signature in constant time (what a receiver does; used by tests).
pub fn verify(secret: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// Topic filter: comma-separated patterns, `*` matches all, `opinion.*` a prefix.
pub fn topic_matches(patterns: &str, topic: &str) -> bool {
    patterns
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .any(|p| {
            p == "*"
                || p == topic
                || p.strip_suffix('*')
                    .is_some_and(|prefix| topic.starts_with(prefix))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies() {
        let s = signature("k", "1700000000", b"{}");
        assert!(verify("k", "1700000000", b"{}", &s));
        assert!(!verify("k", "1700000001", b"{}", &s));
        assert!(!verify("other", "1700000000", b"{}", &s));
    }

    #[test]
    fn topics() {
        assert!(topic_matches("opinion.*", "opinion.replied"));
        assert!(topic_matches("*", "x"));
        assert!(topic_matches("a, opinion.replied", "opinion.replied"));
        assert!(!topic_matches("opinion.assigned", "opinion.replied"));
        assert!(!topic_matches("", "opinion.replied"));
    }
}
