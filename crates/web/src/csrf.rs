//! CSRF protection for every state-changing request that a browser could forge.
//!
//! - Requests with a bearer token are exempt (browsers never add one by themselves).
//! - Requests carrying the session cookie must present the session's token.
//! - Anonymous form posts (login, citizens' forms) use a double-submit token: the
//!   `yidu_csrf` cookie and the form field must match.
//! - An anonymous JSON request without cookies (e.g. `POST /api/v1/auth/login` from a
//!   script) is exempt: a cross-site page cannot send `application/json` without CORS.
//!
//! The token travels in the `_csrf` form field, the `X-CSRF-Token` header, or (for
//! multipart uploads, whose body the shell does not parse) the `_csrf` query parameter.

use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request};
use http_body_util::BodyExt;
use rand::RngCore;

/// The anonymous double-submit token of this visitor (set as a cookie when missing).
#[derive(Debug, Clone)]
pub struct AnonCsrf(pub String);

pub const FIELD: &str = "_csrf";
pub const HEADER: &str = "x-csrf-token";
/// Largest form body the shell buffers to look for the token.
const MAX_FORM_BYTES: usize = 4 * 1024 * 1024;

pub fn new_token() -> String {
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Compares without leaking the position of the first difference through timing.
pub fn same_token(a: &str, b: &str) -> bool {
    if a.is_empty() || a.len() != b.len() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn from_query(req: &Request<Body>) -> Option<String> {
    let q = req.uri().query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(q)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v)
}

/// Finds the token the request presents. Buffers and restores a url-encoded body.
pub async fn presented_token(req: Request<Body>) -> (Request<Body>, Option<String>) {
    if let Some(t) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        let t = t.to_string();
        return (req, Some(t));
    }
    if let Some(t) = from_query(&req) {
        return (req, Some(t));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| ct.starts_with("application/x-www-form-urlencoded"))
        .unwrap_or(false);
    if !is_form {
        return (req, None);
    }
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match http_body_util::Limited::new(body, MAX_FORM_BYTES)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(_) => return (Request::from_parts(parts, Body::empty()), None),
    };
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v));
    (Request::from_parts(parts, Body::from(bytes)), token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("", ""));
        assert!(!same_token("abc", "abcd"));
        assert_eq!(new_token().len(), 48);
    }

    #[tokio::test]
    async fn finds_the_token_in_a_form_body_and_keeps_the_body() {
        let req = Request::post("/x")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("a=1&_csrf=tok&b=2"))
            .unwrap();
        let (req, tok) = presented_token(req).await;
        assert_eq!(tok.as_deref(), Some("tok"));
        let body = req.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"a=1&_csrf=tok&b=2");
    }
}
