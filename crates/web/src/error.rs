//! Errors to responses. Under `/api` every error has one JSON shape:
//! `{"code", "message", "message_en", "details": [{"field", "row", "message", "message_en"}]}`.
//! Pages get a small bilingual error page, or a redirect.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use serde::Serialize;
use yidu_kernel::AppError;

pub type ApiResult<T> = Result<Json<T>, ApiError>;
pub type PageResult = Result<Response, PageError>;

#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

/// The error body of every API endpoint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`.
    pub code: String,
    /// Message in Chinese.
    pub message: String,
    /// The same message in English.
    pub message_en: String,
    /// One entry per bad field (for files: per bad cell, with its row).
    pub details: Vec<ErrorDetail>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
    pub message: String,
    pub message_en: String,
}

impl ErrorBody {
    pub fn from_error(e: &AppError) -> ErrorBody {
        let msg = e.message();
        ErrorBody {
            code: e.code().to_string(),
            message: msg.zh,
            message_en: msg.en,
            details: e
                .details()
                .iter()
                .map(|d| ErrorDetail {
                    field: d.field.clone(),
                    row: d.row,
                    message: d.zh.clone(),
                    message_en: d.en.clone(),
                })
                .collect(),
        }
    }
}

fn log_if_internal(e: &AppError) {
    if let AppError::Internal(inner) = e {
        tracing::error!(error = format!("{inner:#}"), "internal error");
    }
}

fn status_of(e: &AppError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log_if_internal(&self.0);
        let mut resp = (status_of(&self.0), Json(ErrorBody::from_error(&self.0))).into_response();
        if matches!(self.0, AppError::Unauthorized) {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("static"));
        }
        resp
    }
}

#[derive(Debug)]
pub enum PageError {
    Redirect(String),
    Error(AppError),
}

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError::Error(e.into())
    }
}

impl PageError {
    pub fn redirect(to: &str) -> PageError {
        PageError::Redirect(to.to_string())
    }

    pub fn login_redirect(next: &str) -> PageError {
        let next: String = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        PageError::Redirect(format!("/login?{next}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    zh: &'a str,
    en: &'a str,
    details: &'a [yidu_kernel::FieldError],
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Redirect(to) => Redirect::to(&to).into_response(),
            PageError::Error(e) => {
                log_if_internal(&e);
                let msg = e.message();
                let page = ErrorPage {
                    status: e.status(),
                    zh: &msg.zh,
                    en: &msg.en,
                    details: e.details(),
                };
                let body = page.render().unwrap_or_else(|_| msg.both());
                (status_of(&e), Html(body)).into_response()
            }
        }
    }
}
