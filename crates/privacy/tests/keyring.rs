use std::path::Path;
use yidu_privacy::{Keyring, PersonalText, Phone, PrivacyError, Secret, KEY_FILE};

#[test]
fn round_trip() {
    let ring = Keyring::generate();
    for text in [
        "张三丰",
        "13812341234",
        "",
        "Ünïcødé 😀",
        &"长".repeat(4000),
    ] {
        let sealed = ring.seal(text);
        assert_eq!(ring.open(&sealed).unwrap(), text);
        assert!(!sealed.contains(text) || text.is_empty());
    }
    assert_eq!(
        ring.open_opt(ring.seal_opt(Some("李四")).as_deref())
            .unwrap()
            .as_deref(),
        Some("李四")
    );
    assert_eq!(ring.seal_opt(None), None);
    assert_eq!(ring.open_opt(None).unwrap(), None);
}

#[test]
fn sealed_form_carries_the_key_id_and_a_fresh_nonce() {
    let ring = Keyring::generate();
    let a = ring.seal("13812341234");
    let b = ring.seal("13812341234");
    assert_ne!(a, b, "random nonces");
    let parts: Vec<&str> = a.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0], "v1");
    assert_eq!(parts[1], ring.current_key_id());
    assert_eq!(parts[1].len(), 8);
    // 12-byte nonce + 11 bytes + 16-byte tag = 39 bytes = 52 base64 characters.
    assert_eq!(parts[2].len(), 52);
}

#[test]
fn a_changed_ciphertext_does_not_open() {
    let ring = Keyring::generate();
    let sealed = ring.seal("张三丰");
    let (head, body) = sealed.rsplit_once('.').unwrap();
    // Flip each character of the body in turn: every change is caught.
    for i in 0..body.len() {
        let mut chars: Vec<char> = body.chars().collect();
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let altered = format!("{head}.{}", chars.into_iter().collect::<String>());
        assert!(ring.open(&altered).is_err(), "position {i}");
    }
    let other = Keyring::generate();
    assert!(matches!(
        other.open(&sealed),
        Err(PrivacyError::UnknownKey(_))
    ));
    // Moving a body under another key id of the same ring fails authentication.
    let rotated = ring.rotated();
    let moved = sealed.replace(ring.current_key_id(), rotated.current_key_id());
    assert!(matches!(rotated.open(&moved), Err(PrivacyError::Tampered)));
    assert!(matches!(
        ring.open(&sealed.replacen("v1", "v2", 1)),
        Err(PrivacyError::Malformed)
    ));
    assert!(matches!(
        ring.open(&sealed[..20]),
        Err(PrivacyError::Malformed)
    ));
    assert!(matches!(
        ring.open("13812341234"),
        Err(PrivacyError::Malformed)
    ));
    assert!(matches!(
        ring.open(&format!("{head}.!!!")),
        Err(PrivacyError::Malformed)
    ));
}

#[test]
fn rotation_keeps_old_values_readable() {
    let old = Keyring::generate();
    let sealed_old = old.seal("13812341234");
    let new = old.rotated();
    assert_ne!(new.current_key_id(), old.current_key_id());
    assert_eq!(
        new.key_ids(),
        vec![new.current_key_id(), old.current_key_id()]
    );
    assert_eq!(new.open(&sealed_old).unwrap(), "13812341234");
    let sealed_new = new.seal("13812341234");
    assert!(sealed_new.starts_with(&format!("v1.{}.", new.current_key_id())));
    assert!(new.needs_reseal(&sealed_old));
    assert!(!new.needs_reseal(&sealed_new));
    assert!(matches!(
        old.open(&sealed_new),
        Err(PrivacyError::UnknownKey(_))
    ));
    // Blind indexes survive rotation (derived from the original key).
    assert_eq!(
        new.blind_index("phone", "13812341234"),
        old.blind_index("phone", "13812341234")
    );
    // Twice more: still fine.
    let newer = new.rotated().rotated();
    assert_eq!(newer.key_ids().len(), 4);
    assert_eq!(newer.open(&sealed_old).unwrap(), "13812341234");
    assert_eq!(newer.open(&sealed_new).unwrap(), "13812341234");
}

#[test]
fn keys_by_configuration() {
    let ring = Keyring::generate().rotated();
    let config = ring.export();
    assert_eq!(format!("{config:?}"), "***");
    let same = Keyring::from_config(config.expose()).unwrap();
    assert_eq!(same.key_ids(), ring.key_ids());
    assert_eq!(same.open(&ring.seal("张三")).unwrap(), "张三");
    assert_eq!(
        same.blind_index("phone", "x"),
        ring.blind_index("phone", "x")
    );
    // New lines, comments and spaces are accepted as separators too.
    let lines = format!("# comment\n{}\n", config.expose().replace(',', " \n "));
    assert_eq!(
        Keyring::from_config(&lines).unwrap().key_ids(),
        ring.key_ids()
    );

    let short = base64_of(&[7u8; 16]);
    for (bad, expected) in [
        ("", "no key"),
        ("not base64 at all!", "not base64"),
        (short.as_str(), "16 bytes instead of 32"),
    ] {
        let err = Keyring::from_config(bad).unwrap_err().to_string();
        assert!(err.contains(expected), "{bad}: {err}");
    }
    let key = base64_of(&[9u8; 32]);
    let err = Keyring::from_config(&format!("{key},{key}"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("twice"), "{err}");
    // Configuration wins over the data directory when given.
    let dir = tempfile::tempdir().unwrap();
    let configured = Keyring::configured(Some(&key), dir.path()).unwrap();
    assert_eq!(configured.key_ids().len(), 1);
    assert!(!dir.path().join(KEY_FILE).exists());
    Keyring::configured(Some("  "), dir.path()).unwrap();
    assert!(dir.path().join(KEY_FILE).exists());
}

fn base64_of(bytes: &[u8]) -> String {
    // A tiny encoder so that the test does not depend on the crate under test for it.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn key_file_is_created_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = Keyring::load_or_create(&data).unwrap();
    let path = data.join(KEY_FILE);
    assert_eq!(mode(&path), 0o600);
    let sealed = first.seal("13812341234");
    let again = Keyring::load_or_create(&data).unwrap();
    assert_eq!(again.key_ids(), first.key_ids());
    assert_eq!(again.open(&sealed).unwrap(), "13812341234");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("YIDU_DATA_KEY"));
    assert_eq!(
        Keyring::from_config(&text).unwrap().key_ids(),
        first.key_ids()
    );

    // Rotation in the file: new current key, still 0600, old values open.
    let rotated = Keyring::rotate_file(&data).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(rotated.key_ids()[1], first.current_key_id());
    let reloaded = Keyring::load_or_create(&data).unwrap();
    assert_eq!(reloaded.key_ids(), rotated.key_ids());
    assert_eq!(reloaded.open(&sealed).unwrap(), "13812341234");
    assert_eq!(
        reloaded.blind_index("phone", "1"),
        first.blind_index("phone", "1")
    );
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from(KEY_FILE)]);
}

#[cfg(unix)]
#[test]
fn key_file_open_to_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    Keyring::load_or_create(dir.path()).unwrap();
    let path = dir.path().join(KEY_FILE);
    for bad in [0o644, 0o640, 0o604, 0o660, 0o620] {
        set_mode(&path, bad);
        let err = Keyring::load_or_create(dir.path()).unwrap_err();
        assert!(
            matches!(err, PrivacyError::KeyFileExposed { mode, .. } if mode == bad),
            "{bad:o}"
        );
        let message = err.to_string();
        assert!(message.contains("chmod 600"), "{message}");
        assert!(
            message.contains("权限") && message.contains("group or others"),
            "{message}"
        );
        assert!(Keyring::rotate_file(dir.path()).is_err());
    }
    set_mode(&path, 0o400);
    Keyring::load_or_create(dir.path()).unwrap();
}

#[test]
fn instances_starting_together_share_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || Keyring::load_or_create(&path).unwrap())
        })
        .collect();
    let rings: Vec<Keyring> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for ring in &rings {
        assert_eq!(ring.key_ids(), rings[0].key_ids());
    }
    assert_eq!(
        std::fs::read_dir(&path).unwrap().count(),
        1,
        "only the key file"
    );
}

#[test]
fn blind_index_is_keyed_and_normalized() {
    let ring = Keyring::generate();
    let a = Phone::parse("+86 138-1234-1234").unwrap();
    let b = Phone::parse("13812341234").unwrap();
    assert_eq!(ring.phone_index(&a), ring.phone_index(&b));
    let index = ring.phone_index(&a);
    assert_eq!(index.len(), 32);
    assert!(index.bytes().all(|c| c.is_ascii_hexdigit()));
    assert!(!index.contains("1234"));
    assert_ne!(
        ring.blind_index("phone", "13812341234"),
        ring.blind_index("ip", "13812341234")
    );
    assert_ne!(
        ring.phone_index(&a),
        ring.phone_index(&Phone::parse("13812341235").unwrap())
    );
    assert_ne!(
        Keyring::generate().phone_index(&a),
        index,
        "depends on the key"
    );
}

#[test]
fn nothing_personal_reaches_debug_output() {
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Submission {
        name: PersonalText,
        phone: Secret<Phone>,
        title: String,
    }
    let s = Submission {
        name: Secret::new("张三丰".to_string()),
        phone: Phone::parse("13812341234").unwrap().into(),
        title: "路灯不亮".into(),
    };
    let printed = format!("{s:?} {} {}", s.name, s.phone);
    assert!(
        !printed.contains("张三丰") && !printed.contains("1381234"),
        "{printed}"
    );
    assert!(printed.contains("name: ***") && printed.contains("路灯不亮"));
    assert_eq!(s.name.expose(), "张三丰");

    let ring = Keyring::generate();
    let debug = format!("{ring:?}");
    assert!(debug.contains(ring.current_key_id()));
    assert!(!debug.contains(ring.export().expose()));
    let err = ring.open("v1.deadbeef.AAAA").unwrap_err().to_string();
    assert!(err.contains("deadbeef"));
}

#[test]
fn secret_deserializes_transparently() {
    #[derive(serde::Deserialize)]
    struct Config {
        key: Secret<String>,
    }
    let c: Config = serde_json_like("abc");
    assert_eq!(c.key.expose(), "abc");
    fn serde_json_like(v: &str) -> Config {
        use serde::de::value::{MapDeserializer, StrDeserializer};
        use serde::Deserialize;
        let map = MapDeserializer::<_, serde::de::value::Error>::new(std::iter::once((
            "key",
            StrDeserializer::<serde::de::value::Error>::new(v),
        )));
        Config::deserialize(map).unwrap()
    }
}
