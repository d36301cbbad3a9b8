//! Body extractors whose rejections use the project's error shapes instead of axum's
//! plain-text ones: bad JSON names the field and the reason in both languages.

use crate::error::{ApiError, PageError};
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use yidu_kernel::{AppError, FieldError};

/// JSON body for API handlers.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(ApiError(json_rejection(rej))),
        }
    }
}

fn json_rejection(rej: JsonRejection) -> AppError {
    match rej {
        JsonRejection::JsonDataError(e) => {
            // axum reports "<path>: <reason>"; keep the path as the field name.
            let text = e.body_text();
            let detail = text
                .split_once("target type: ")
                .map(|(_, rest)| rest.to_string())
                .unwrap_or(text);
            let (field, reason) = match detail.split_once(": ") {
                Some((f, r)) if !f.contains(' ') => (f.to_string(), r.to_string()),
                _ => (String::new(), detail.clone()),
            };
            let field = if field.is_empty() {
                missing_field(&reason).unwrap_or_default()
            } else {
                field
            };
            AppError::Validation(vec![FieldError::new(
                field,
                format!("字段缺失或类型不对（{reason}）"),
                format!("missing or of the wrong type ({reason})"),
            )])
        }
        JsonRejection::JsonSyntaxError(_) => AppError::bad_request(
            "请求体不是有效的 JSON",
            "The request body is not valid JSON",
        ),
        JsonRejection::MissingJsonContentType(_) => AppError::bad_request(
            "请求须带 Content-Type: application/json",
            "The request needs Content-Type: application/json",
        ),
        other => AppError::bad_request("请求体无法读取", &other.body_text()),
    }
}

fn missing_field(reason: &str) -> Option<String> {
    let start = reason.find("missing field `")? + "missing field `".len();
    let end = reason[start..].find('`')? + start;
    Some(reason[start..end].to_string())
}

/// Url-encoded form body for page handlers.
pub struct PageForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(PageForm(v)),
            Err(rej) => Err(PageError::Error(form_rejection(rej))),
        }
    }
}

fn form_rejection(rej: FormRejection) -> AppError {
    let text = rej.body_text();
    AppError::bad_request(
        &format!("表单内容有误：{text}"),
        &format!("The form is invalid: {text}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_missing_field_name() {
        assert_eq!(
            missing_field("missing field `name` at line 1 column 2").as_deref(),
            Some("name")
        );
        assert_eq!(missing_field("invalid type"), None);
    }
}
