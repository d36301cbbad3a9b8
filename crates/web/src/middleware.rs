//! The request pipeline every route goes through: request facts, authentication, CSRF,
//! security headers, and metrics.

use crate::auth::AuthContext;
use crate::csrf::{self, AnonCsrf};
use crate::error::{ApiError, PageError};
use crate::meta::RequestMeta;
use crate::{cookies, AppState};
use axum::body::Body;
use axum::extract::{MatchedPath, State};
use axum::http::{header, HeaderValue, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;
use yidu_kernel::AppError;

/// Resolves language, client, the logged-in user and the CSRF token, rejects forged
/// unsafe requests, and adds security headers to the response.
pub async fn shell(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let meta = RequestMeta::from_parts(&parts, state.config.trust_forwarded_for);
    let is_api = parts.uri.path().starts_with("/api/") || parts.uri.path().starts_with("/open311/");

    // Authentication: bearer token first, then the session cookie.
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|s| s.trim().to_string());
    let session_cookie = cookies::get(&parts.headers, cookies::SESSION).map(str::to_string);
    let mut ctx: Option<AuthContext> = None;
    if let Some(token) = &bearer {
        match state.auth.bearer(token).await {
            Some(p) => {
                ctx = Some(AuthContext {
                    principal: p,
                    session_token: None,
                    csrf: None,
                })
            }
            None => return ApiError(AppError::Unauthorized).into_response(),
        }
    } else if let Some(token) = &session_cookie {
        if let Some((p, csrf_token)) = state.auth.session(token).await {
            ctx = Some(AuthContext {
                principal: p,
                session_token: Some(token.clone()),
                csrf: Some(csrf_token),
            });
        }
    }

    let anon_cookie = cookies::get(&parts.headers, cookies::ANON_CSRF).map(str::to_string);
    let anon = anon_cookie.clone().unwrap_or_else(csrf::new_token);
    parts.extensions.insert(AnonCsrf(anon.clone()));
    parts.extensions.insert(meta.clone());
    if let Some(c) = &ctx {
        parts.extensions.insert(c.clone());
    }
    let mut req = Request::from_parts(parts, body);

    if csrf::is_unsafe(req.method()) && bearer.is_none() {
        let content_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| ct.starts_with("application/json"))
            .unwrap_or(false);
        let has_cookies = req.headers().contains_key(header::COOKIE);
        // Open311 clients post forms without cookies and prove themselves by API key; a
        // cross-site browser form could not supply that key.
        let open311 = req.uri().path().starts_with("/open311/");
        let expected: Option<String> = match &ctx {
            Some(c) => c.csrf.clone(),
            None if (content_json || open311) && !has_cookies => None,
            None => Some(anon_cookie.clone().unwrap_or_default()),
        };
        if let Some(expected) = expected {
            let (r, presented) = csrf::presented_token(req).await;
            req = r;
            let ok = presented
                .map(|p| csrf::same_token(&p, &expected))
                .unwrap_or(false);
            if !ok {
                tracing::warn!(path = %meta.path, client = %meta.client, "CSRF token missing or wrong");
                let err = AppError::Forbidden;
                return if is_api {
                    ApiError(err).into_response()
                } else {
                    PageError::Error(AppError::bad_request(
                        "表单已过期或来源不明，请刷新页面后重试",
                        "The form expired or came from elsewhere; reload the page and try again",
                    ))
                    .into_response()
                };
            }
        }
    }

    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if anon_cookie.is_none() {
        h.append(
            header::SET_COOKIE,
            cookies::set(
                cookies::ANON_CSRF,
                &anon,
                None,
                true,
                state.config.secure_cookies,
            ),
        );
    }
    let frame = if state.config.frame_ancestors.is_empty() {
        "'none'".to_string()
    } else {
        state.config.frame_ancestors.join(" ")
    };
    let csp = format!(
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {frame}"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.entry(header::CONTENT_SECURITY_POLICY).or_insert(v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) && ctx.is_some() {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Counts requests and their latency per route for `/metrics`, and logs each request.
pub async fn track(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    let elapsed = start.elapsed();
    let status = resp.status().as_u16();
    state
        .metrics
        .observe_request(method.as_str(), &route, status, elapsed);
    tracing::debug!(method = %method, route = %route, status, ms = elapsed.as_secs_f64() * 1000.0, "request");
    resp
}
