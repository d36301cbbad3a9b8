//! Minimal cookie reading and writing (the shell needs three cookies: session, language,
//! elder-friendly mode, plus the anonymous CSRF token).

use axum::http::{header, HeaderMap, HeaderValue};

pub const SESSION: &str = "yidu_session";
pub const LANG: &str = "yidu_lang";
pub const ELDER: &str = "yidu_elder";
pub const ANON_CSRF: &str = "yidu_csrf";

pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
        .next()
}

/// A `Set-Cookie` value. `max_age` None makes a browser-session cookie; Some(0) deletes.
pub fn set(
    name: &str,
    value: &str,
    max_age: Option<i64>,
    http_only: bool,
    secure: bool,
) -> HeaderValue {
    let mut s = format!("{name}={value}; Path=/; SameSite=Lax");
    if let Some(age) = max_age {
        s.push_str(&format!("; Max-Age={age}"));
    }
    if http_only {
        s.push_str("; HttpOnly");
    }
    if secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).expect("cookie value is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_many() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; yidu_lang=en; b=2"),
        );
        assert_eq!(get(&h, LANG), Some("en"));
        assert_eq!(get(&h, SESSION), None);
        let v = set(SESSION, "abc", None, true, true);
        assert_eq!(
            v.to_str().unwrap(),
            "yidu_session=abc; Path=/; SameSite=Lax; HttpOnly; Secure"
        );
    }
}
