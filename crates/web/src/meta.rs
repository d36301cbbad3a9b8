//! Facts about the request every handler may want: language, client address, elder mode.

use crate::cookies;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use yidu_kernel::Lang;

#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub lang: Lang,
    /// Client address as seen by the server (or the proxy's `X-Forwarded-For`).
    pub client: String,
    /// Elder-friendly mode (large type, high contrast) chosen by the visitor.
    pub elder: bool,
    /// Path and query of the request, for "back to where you were" links.
    pub path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(meta) = parts.extensions.get::<RequestMeta>() {
            return Ok(meta.clone());
        }
        Ok(RequestMeta::from_parts(parts, false))
    }
}

impl RequestMeta {
    pub fn from_parts(parts: &Parts, trust_forwarded_for: bool) -> RequestMeta {
        let headers = &parts.headers;
        let lang = Lang::negotiate(
            cookies::get(headers, cookies::LANG),
            headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        );
        let forwarded = trust_forwarded_for
            .then(|| headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()))
            .flatten()
            .and_then(|v| v.split(',').next())
            .map(|s| s.trim().to_string());
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let client = forwarded.or(peer).unwrap_or_else(|| "local".into());
        let elder = cookies::get(headers, cookies::ELDER) == Some("1");
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        RequestMeta {
            lang,
            client,
            elder,
            path,
        }
    }
}
