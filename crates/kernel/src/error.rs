//! One error type for every use case. Each variant knows its HTTP status and its
//! stable `code`; messages come in both languages and never leak internals.

use crate::i18n::{Lang, Msg};
use serde::Serialize;

pub type AppResult<T> = Result<T, AppError>;

/// A problem with one input field, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name as the client sent it (for spreadsheets: the column).
    pub field: String,
    /// Spreadsheet row (1-based, as shown by office software) when the input was a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
    pub zh: String,
    pub en: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            row: None,
            zh: zh.into(),
            en: en.into(),
        }
    }
    pub fn at_row(mut self, row: u32) -> Self {
        self.row = Some(row);
        self
    }
    pub fn message(&self, lang: Lang) -> &str {
        lang.pick(&self.zh, &self.en)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("unauthorized")]
    Unauthorized,
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("conflict: {0:?}")]
    Conflict(Msg),
    #[error("locked: {0:?}")]
    Locked(Msg),
    #[error("too many requests")]
    RateLimited,
    #[error("bad request: {0:?}")]
    BadRequest(Msg),
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl AppError {
    pub fn field(field: &str, zh: &str, en: &str) -> Self {
        AppError::Validation(vec![FieldError::new(field, zh, en)])
    }

    pub fn conflict(zh: &str, en: &str) -> Self {
        AppError::Conflict(Msg::new(zh, en))
    }

    pub fn bad_request(zh: &str, en: &str) -> Self {
        AppError::BadRequest(Msg::new(zh, en))
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(e.into())
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::Validation(_) => 422,
            AppError::NotFound => 404,
            AppError::Forbidden => 403,
            AppError::Unauthorized => 401,
            AppError::PasswordChangeRequired => 403,
            AppError::Conflict(_) => 409,
            AppError::Locked(_) => 423,
            AppError::RateLimited => 429,
            AppError::BadRequest(_) => 400,
            AppError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::NotFound => "not_found",
            AppError::Forbidden => "forbidden",
            AppError::Unauthorized => "unauthorized",
            AppError::PasswordChangeRequired => "password_change_required",
            AppError::Conflict(_) => "conflict",
            AppError::Locked(_) => "locked",
            AppError::RateLimited => "rate_limited",
            AppError::BadRequest(_) => "bad_request",
            AppError::Internal(_) => "internal",
        }
    }

    pub fn message(&self) -> Msg {
        match self {
            AppError::Validation(v) if v.len() == 1 => Msg::new(
                format!("输入有误：{}：{}", v[0].field, v[0].zh),
                format!("Invalid input: {}: {}", v[0].field, v[0].en),
            ),
            AppError::Validation(v) => Msg::new(
                format!("输入有误，共 {} 处问题", v.len()),
                format!("Invalid input: {} problems", v.len()),
            ),
            AppError::NotFound => Msg::new("未找到", "Not found"),
            AppError::Forbidden => Msg::new("无权进行此操作", "You may not do this"),
            AppError::Unauthorized => Msg::new("请先登录", "Please log in"),
            AppError::PasswordChangeRequired => Msg::new(
                "请先修改初始密码",
                "Please change your initial password first",
            ),
            AppError::Conflict(m) | AppError::Locked(m) | AppError::BadRequest(m) => m.clone(),
            AppError::RateLimited => Msg::new(
                "操作过于频繁，请稍后再试",
                "Too many requests, try again later",
            ),
            AppError::Internal(_) => Msg::new(
                "服务器内部错误，请稍后再试",
                "Internal error, please try again later",
            ),
        }
    }

    pub fn details(&self) -> &[FieldError] {
        match self {
            AppError::Validation(v) => v,
            _ => &[],
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::RowNotFound = e {
            return AppError::NotFound;
        }
        if let Some(db) = e.as_database_error() {
            if db.is_unique_violation() {
                return AppError::conflict(
                    "记录已存在（编号或名称重复）",
                    "Already exists (duplicate code or name)",
                );
            }
            if db.is_foreign_key_violation() {
                return AppError::conflict(
                    "引用的记录不存在或仍被引用",
                    "A referenced record is missing or still in use",
                );
            }
        }
        AppError::Internal(e.into())
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
}

/// Collects field errors while parsing a whole input, so the user sees every problem at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    pub fn push(&mut self, field: &str, zh: &str, en: &str) {
        self.0.push(FieldError::new(field, zh, en));
    }
    pub fn add(&mut self, e: FieldError) {
        self.0.push(e);
    }
    /// Keeps the value when Ok, records the field errors when not.
    pub fn take<T>(&mut self, r: AppResult<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(AppError::Validation(v)) => {
                self.0.extend(v);
                None
            }
            Err(other) => {
                self.0.push(FieldError::new("", "无效", other.to_string()));
                None
            }
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn finish(self) -> AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}
