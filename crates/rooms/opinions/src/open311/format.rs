//! Open311 answers in JSON or XML from one value tree, and the spec's error format:
//! `[{"code": 400, "description": "..."}]` or
//! `<errors><error><code>400</code><description>...</description></error></errors>`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use yidu_kernel::AppError;

/// The format a client asked for by the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fmt {
    Json,
    Xml,
}

/// Splits "services.json" into ("services", Json); `None` for other extensions.
pub fn split(file: &str) -> Option<(&str, Fmt)> {
    let (stem, ext) = file.rsplit_once('.')?;
    match ext {
        "json" => Some((stem, Fmt::Json)),
        "xml" => Some((stem, Fmt::Xml)),
        _ => None,
    }
}

/// A value both formats can write. `List` names its XML child elements.
#[derive(Debug, Clone)]
pub enum V {
    S(String),
    F(f64),
    I(i64),
    B(bool),
    Null,
    Obj(Vec<(&'static str, V)>),
    List(&'static str, Vec<V>),
}

pub fn s(x: impl Into<String>) -> V {
    V::S(x.into())
}

pub fn opt(x: Option<String>) -> V {
    x.map(V::S).unwrap_or(V::Null)
}

fn to_json(v: &V) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        V::S(x) => J::String(x.clone()),
        V::F(x) => serde_json::Number::from_f64(*x)
            .map(J::Number)
            .unwrap_or(J::Null),
        V::I(x) => J::from(*x),
        V::B(x) => J::Bool(*x),
        V::Null => J::Null,
        V::Obj(fields) => J::Object(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        ),
        V::List(_, items) => J::Array(items.iter().map(to_json).collect()),
    }
}

/// Escapes text for XML content, dropping characters XML 1.0 cannot carry.
pub fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

fn write_xml(name: &str, v: &V, out: &mut String) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match v {
        V::S(x) => escape(x, out),
        V::F(x) => out.push_str(&x.to_string()),
        V::I(x) => out.push_str(&x.to_string()),
        V::B(x) => out.push_str(if *x { "true" } else { "false" }),
        V::Null => {}
        V::Obj(fields) => {
            for (k, v) in fields {
                write_xml(k, v, out);
            }
        }
        V::List(child, items) => {
            for item in items {
                write_xml(child, item, out);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Writes `v` (with `root` as the XML document element) with the given status.
pub fn answer(fmt: Fmt, status: StatusCode, root: &str, v: &V) -> Response {
    match fmt {
        Fmt::Json => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            to_json(v).to_string(),
        )
            .into_response(),
        Fmt::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            write_xml(root, v, &mut out);
            (
                status,
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                out,
            )
                .into_response()
        }
    }
}

pub fn ok(fmt: Fmt, root: &str, v: &V) -> Response {
    answer(fmt, StatusCode::OK, root, v)
}

/// An error in the spec's format.
pub fn error(fmt: Fmt, code: u16, description: &str) -> Response {
    let v = V::List(
        "error",
        vec![V::Obj(vec![
            ("code", V::I(code as i64)),
            ("description", s(description)),
        ])],
    );
    answer(
        fmt,
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
        "errors",
        &v,
    )
}

/// Our field names as the Open311 client knows them.
fn open311_field(ours: &str) -> &str {
    match ours {
        "body" => "description",
        "address" => "address_string",
        "latitude" | "longitude" => "lat",
        "name" => "first_name",
        "grid_id" => "grid_id",
        other => other,
    }
}

/// A room error as an Open311 error: validation names the fields the client sent.
pub fn from_app(fmt: Fmt, e: AppError) -> Response {
    match e {
        AppError::Validation(v) => {
            let text = v
                .iter()
                .map(|f| format!("{}: {} / {}", open311_field(&f.field), f.zh, f.en))
                .collect::<Vec<_>>()
                .join("; ");
            error(fmt, 400, &text)
        }
        AppError::NotFound => error(fmt, 404, "未找到 / not found"),
        AppError::Forbidden | AppError::Unauthorized => error(fmt, 403, "无权操作 / forbidden"),
        AppError::RateLimited => error(
            fmt,
            429,
            "提交过于频繁，请稍后再试 / too many requests, try again later",
        ),
        AppError::Internal(inner) => {
            tracing::error!(error = format!("{inner:#}"), "open311 internal error");
            error(fmt, 500, "内部错误 / internal error")
        }
        other => {
            let m = other.message();
            error(fmt, other.status(), &format!("{} / {}", m.zh, m.en))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_escaped_and_control_characters_dropped() {
        let mut out = String::new();
        write_xml("d", &s("a<b>&\"c'\u{1}"), &mut out);
        assert_eq!(out, "<d>a&lt;b&gt;&amp;&quot;c&apos;</d>");
    }

    #[test]
    fn extensions_pick_the_format() {
        assert_eq!(split("services.json"), Some(("services", Fmt::Json)));
        assert_eq!(split("A1.xml"), Some(("A1", Fmt::Xml)));
        assert_eq!(split("services.html"), None);
    }
}
