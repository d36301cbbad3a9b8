//! Who is calling. The accounts room implements [`Authenticator`]; the shell resolves the
//! session cookie or bearer token once per request (see [`crate::middleware`]) and
//! handlers take [`ApiUser`] or [`PageUser`] to require a login.

use crate::error::{ApiError, PageError};
use crate::meta::RequestMeta;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::future::Future;
use std::pin::Pin;
use yidu_kernel::{AppError, Principal};

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Resolves credentials to principals. Implemented by the accounts room.
pub trait Authenticator: Send + Sync + 'static {
    /// A live session: the principal and the session's CSRF token. Touches the session
    /// (idle timeout) as a side effect.
    fn session<'a>(&'a self, token: &'a str) -> BoxFut<'a, Option<(Principal, String)>>;
    /// A valid, unrevoked API bearer token.
    fn bearer<'a>(&'a self, token: &'a str) -> BoxFut<'a, Option<Principal>>;
}

/// How the request was authenticated.
#[derive(Debug, Clone)]
pub struct AuthContext {
    pub principal: Principal,
    /// Raw session token when the request came with the session cookie.
    pub session_token: Option<String>,
    /// The session's CSRF token, to be put into forms.
    pub csrf: Option<String>,
}

/// Paths a user who must change the initial password may still use.
fn allowed_before_password_change(path: &str) -> bool {
    path.starts_with("/password")
        || path.starts_with("/logout")
        || path.starts_with("/api/v1/auth/")
        || path.starts_with("/api/v1/me")
}

/// An API caller: a logged-in principal, or 401 in the JSON error shape.
pub struct ApiUser(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ctx = parts
            .extensions
            .get::<AuthContext>()
            .ok_or(ApiError(AppError::Unauthorized))?;
        if ctx.principal.must_change_password && !allowed_before_password_change(parts.uri.path()) {
            return Err(ApiError(AppError::PasswordChangeRequired));
        }
        Ok(ApiUser(ctx.principal.clone()))
    }
}

/// A page visitor who must be logged in; others are sent to the login page.
pub struct PageUser {
    pub principal: Principal,
    pub csrf: String,
}

impl<S: Send + Sync> FromRequestParts<S> for PageUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let meta = RequestMeta::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        let Some(ctx) = parts.extensions.get::<AuthContext>() else {
            return Err(PageError::login_redirect(&meta.path));
        };
        if ctx.principal.must_change_password && !allowed_before_password_change(parts.uri.path()) {
            return Err(PageError::redirect("/password"));
        }
        Ok(PageUser {
            principal: ctx.principal.clone(),
            csrf: ctx.csrf.clone().unwrap_or_default(),
        })
    }
}

/// The visitor, logged in or not.
pub struct MaybeUser(pub Option<AuthContext>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(parts.extensions.get::<AuthContext>().cloned()))
    }
}

/// The CSRF token a page must put into its forms: the session's when logged in, else
/// the anonymous double-submit token set by the shell.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ctx) = parts.extensions.get::<AuthContext>() {
            if let Some(c) = &ctx.csrf {
                return Ok(CsrfToken(c.clone()));
            }
        }
        Ok(CsrfToken(
            parts
                .extensions
                .get::<crate::csrf::AnonCsrf>()
                .map(|a| a.0.clone())
                .unwrap_or_default(),
        ))
    }
}
