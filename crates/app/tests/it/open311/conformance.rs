//! Conformance checks for the Open311 tests: a small JSON-schema validator for the
//! Open311 validator's schemas (in ../shared when present), a minimal XML reader, the
//! spec's error format and W3C timestamps.

use crate::helpers::TestResponse;
use serde_json::Value;
use std::path::PathBuf;

fn schemas_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/open311-schemas");
    d.join("request.json").exists().then_some(d)
}

/// A small validator for the keywords the Open311 schemas use: type, required,
/// properties, items, $ref (sibling files), anyOf, enum, maxLength, format date-time.
fn validate(dir: &PathBuf, schema: &Value, v: &Value, at: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let sub: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(r)).unwrap()).unwrap();
        errs.extend(validate(dir, &sub, v, at));
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        if !any.iter().any(|s| validate(dir, s, v, at).is_empty()) {
            errs.push(format!("{at}: matches none of anyOf: {v}"));
        }
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let ok = match t {
            "array" => v.is_array(),
            "object" => v.is_object(),
            "string" => v.is_string(),
            "number" => v.is_number(),
            "integer" => v.is_i64() || v.is_u64(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => true,
        };
        if !ok {
            errs.push(format!("{at}: not a {t}: {v}"));
        }
    }
    if let (Some(e), Some(s)) = (schema.get("enum").and_then(Value::as_array), v.as_str()) {
        if !e.iter().any(|x| x.as_str() == Some(s)) {
            errs.push(format!("{at}: {s} not in {e:?}"));
        }
    }
    if let (Some(m), Some(s)) = (schema.get("maxLength").and_then(Value::as_u64), v.as_str()) {
        if s.chars().count() as u64 > m {
            errs.push(format!("{at}: longer than {m}"));
        }
    }
    if schema.get("format").and_then(Value::as_str) == Some("date-time") {
        if let Some(s) = v.as_str() {
            if !is_w3c(s) {
                errs.push(format!("{at}: not an RFC 3339 date-time with zone: {s}"));
            }
        }
    }
    if let (Some(req), Some(obj)) = (
        schema.get("required").and_then(Value::as_array),
        v.as_object(),
    ) {
        for r in req {
            if !obj.contains_key(r.as_str().unwrap()) {
                errs.push(format!("{at}: missing required {r}"));
            }
        }
    }
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        v.as_object(),
    ) {
        for (k, s) in props {
            if let Some(x) = obj.get(k) {
                errs.extend(validate(dir, s, x, &format!("{at}.{k}")));
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            errs.extend(validate(dir, items, x, &format!("{at}[{i}]")));
        }
    }
    errs
}

/// Checks a JSON answer against a schema of the Open311 validator, when they are here.
pub fn conforms(file: &str, v: &Value) {
    let Some(dir) = schemas_dir() else { return };
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
    let errs = validate(&dir, &schema, v, "$");
    assert!(errs.is_empty(), "{file}: {errs:#?}");
}

/// A parsed XML element: name, text and children. Panics on anything not well-formed.
#[derive(Debug)]
pub struct El {
    pub name: String,
    pub text: String,
    pub kids: Vec<El>,
}

impl El {
    pub fn kid(&self, name: &str) -> &El {
        self.kids
            .iter()
            .find(|k| k.name == name)
            .unwrap_or_else(|| panic!("no <{name}> in <{}>", self.name))
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').expect("entity ends with ;") + i;
        out.push(match &rest[i + 1..end] {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e => panic!("unknown entity &{e};"),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

pub fn parse_xml(doc: &str) -> El {
    let doc = doc
        .strip_prefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>")
        .expect("XML declaration");
    let mut stack: Vec<El> = vec![El {
        name: String::new(),
        text: String::new(),
        kids: vec![],
    }];
    let mut rest = doc;
    while !rest.is_empty() {
        let lt = rest.find('<').unwrap_or(rest.len());
        let text = &rest[..lt];
        assert!(!text.contains('>'), "raw > in text");
        stack.last_mut().unwrap().text.push_str(&unescape(text));
        rest = &rest[lt..];
        if rest.is_empty() {
            break;
        }
        let gt = rest.find('>').expect("tag closes");
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let el = stack.pop().unwrap();
            assert_eq!(el.name, name, "mismatched tags");
            stack.last_mut().unwrap().kids.push(el);
        } else {
            assert!(
                !tag.is_empty() && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "tag {tag}"
            );
            stack.push(El {
                name: tag.to_string(),
                text: String::new(),
                kids: vec![],
            });
        }
    }
    let mut top = stack.pop().unwrap();
    assert!(stack.is_empty(), "unclosed tags");
    assert_eq!(top.kids.len(), 1, "one document element");
    top.kids.pop().unwrap()
}

pub fn assert_error(r: &TestResponse, status: u16, xml: bool, mentions: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    if xml {
        let e = parse_xml(&r.text());
        assert_eq!(e.name, "errors");
        let one = e.kid("error");
        assert_eq!(one.kid("code").text, status.to_string());
        assert!(
            one.kid("description").text.contains(mentions),
            "{}",
            r.text()
        );
    } else {
        let v = r.json();
        assert_eq!(v[0]["code"], status, "{v}");
        assert!(
            v[0]["description"].as_str().unwrap().contains(mentions),
            "{v}"
        );
    }
}

/// YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM): a W3C timestamp with a time zone.
fn is_w3c(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .map(|x| x.iter().all(u8::is_ascii_digit))
            .unwrap_or(false)
    };
    if b.len() < 20
        || !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10))
    {
        return false;
    }
    if !(b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19))
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &f[n..];
    }
    rest == "Z"
        || (rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest[1..3].bytes().all(|c| c.is_ascii_digit())
            && &rest[3..4] == ":"
            && rest[4..].bytes().all(|c| c.is_ascii_digit()))
}

pub fn has_zone(t: &str) {
    assert!(is_w3c(t), "not W3C: {t}");
    assert!(t.ends_with("+08:00"), "{t}");
}
