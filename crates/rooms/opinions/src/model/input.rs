//! What comes in from citizens and handlers, parsed and validated with field errors.

use serde::Deserialize;
use yidu_kernel::error::Problems;
use yidu_kernel::{AppError, AppResult};

pub const MAX_TITLE: usize = 100;
pub const MAX_BODY: usize = 4_000;
pub const MAX_PHOTOS: usize = 5;
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;

/// How the item reached yidu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// Scanned a deputy's code (代表码).
    Deputy(String),
    /// Scanned a station's code (联络站码).
    Station(String),
    /// The general entry.
    General,
    /// Another system (Open311 client such as 代表通 or 12345), by channel name.
    External(String),
}

impl Channel {
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Deputy(_) => "deputy_code",
            Channel::Station(_) => "station_code",
            Channel::General => "general",
            Channel::External(_) => "external",
        }
    }
    pub fn reference(&self) -> &str {
        match self {
            Channel::Deputy(c) | Channel::Station(c) | Channel::External(c) => c,
            Channel::General => "",
        }
    }
}

/// A photo as uploaded; checked by content, not by its name.
#[derive(Clone)]
pub struct Upload {
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upload({} bytes)", self.bytes.len())
    }
}

/// A citizen's submission as the form or API sends it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct Submission {
    pub category_id: Option<i64>,
    /// Up to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    /// Up to 4,000 characters.
    #[schema(min_length = 1, max_length = 4000)]
    pub body: String,
    pub grid_id: Option<i64>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub address: String,
    /// Both coordinates or neither.
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub latitude: Option<f64>,
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub longitude: Option<f64>,
    /// Optional: anonymous submissions are allowed.
    #[serde(default)]
    #[schema(max_length = 30)]
    pub name: String,
    /// A mainland mobile or landline number as typed (spaces, dashes and +86 are ignored);
    /// empty for none.
    #[serde(default)]
    pub phone: String,
    /// The citizen agreed to the notice on personal information (needed with a name or phone).
    #[serde(default)]
    pub consent: bool,
    /// Left empty by people; bots fill it in.
    #[serde(default)]
    #[schema(max_length = 0)]
    pub website: String,
}

/// A submission that passed validation.
#[derive(Debug, Clone)]
pub struct CleanSubmission {
    pub category_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub grid_id: Option<i64>,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub name: Option<String>,
    pub phone: Option<yidu_privacy::Phone>,
}

fn text(p: &mut Problems, field: &str, value: &str, max: usize, required: bool) -> String {
    let v = value.trim();
    if required && v.is_empty() {
        p.push(field, "不能为空", "must not be empty");
    } else if v.chars().count() > max {
        p.add(yidu_kernel::FieldError::new(
            field,
            format!("不能超过 {max} 字"),
            format!("must be at most {max} characters"),
        ));
    }
    v.to_string()
}

impl Submission {
    pub fn validate(&self) -> AppResult<CleanSubmission> {
        let mut p = Problems::default();
        if !self.website.trim().is_empty() {
            // A honeypot hit: refuse without saying why in detail.
            return Err(AppError::bad_request(
                "提交未被接受",
                "The submission was not accepted",
            ));
        }
        let title = text(&mut p, "title", &self.title, MAX_TITLE, true);
        let body = text(&mut p, "body", &self.body, MAX_BODY, true);
        let address = text(&mut p, "address", &self.address, 200, false);
        let name = text(&mut p, "name", &self.name, 30, false);
        let phone = p
            .take(yidu_privacy::Phone::parse_optional("phone", &self.phone))
            .flatten();
        match (self.latitude, self.longitude) {
            (None, None) => {}
            (Some(la), Some(lo))
                if (-90.0..=90.0).contains(&la) && (-180.0..=180.0).contains(&lo) => {}
            _ => p.push("latitude", "坐标无效", "coordinates are invalid"),
        }
        let gives_personal = !name.is_empty() || phone.is_some();
        if gives_personal && !self.consent {
            p.push(
                "consent",
                "留下姓名或电话前，请先阅读并同意个人信息告知",
                "please read and accept the notice on personal information before leaving a name or phone",
            );
        }
        p.finish()?;
        Ok(CleanSubmission {
            category_id: self.category_id,
            title,
            body,
            grid_id: self.grid_id,
            address,
            latitude: self.latitude,
            longitude: self.longitude,
            name: (!name.is_empty()).then_some(name),
            phone,
        })
    }
}

/// The image types photos may have, told by their first bytes.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// A handler's move with what it needs.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct MoveInput {
    /// accept, reject, merge, answer_on_spot, assign, take, return, escalate, convert,
    /// start, reply, close
    #[schema(
        pattern = r"^\s*(accept|reject|merge|answer_on_spot|assign|take|return|escalate|convert|start|reply|close)\s*$"
    )]
    pub action: String,
    /// Reason, reply text or note (up to 4,000 characters).
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub note: String,
    /// For assign: the handling unit.
    pub unit_id: Option<i64>,
    /// For merge: the item this one duplicates.
    pub into_id: Option<i64>,
    /// For convert: suggestion or supervision.
    pub convert_to: Option<String>,
    /// For accept: township or district (分级).
    pub level: Option<String>,
    /// For accept: the category (分类).
    pub category_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Submission {
        Submission {
            title: "路灯不亮".into(),
            body: "小区门口的路灯坏了一个月".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_plain_anonymous_submission_is_fine() {
        let c = ok().validate().unwrap();
        assert_eq!(c.name, None);
        assert!(c.phone.is_none());
    }

    #[test]
    fn every_problem_is_named() {
        let s = Submission {
            title: "".into(),
            body: "长".repeat(MAX_BODY + 1),
            phone: "123".into(),
            latitude: Some(200.0),
            longitude: Some(1.0),
            ..Default::default()
        };
        match s.validate() {
            Err(AppError::Validation(v)) => {
                let fields: Vec<_> = v.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["title", "body", "phone", "latitude"], "{v:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn personal_data_needs_consent_and_bots_are_refused() {
        let mut s = ok();
        s.phone = "13812345678".into();
        assert!(matches!(s.validate(), Err(AppError::Validation(v)) if v[0].field == "consent"));
        s.consent = true;
        assert!(s.validate().is_ok());
        s.website = "http://spam".into();
        assert!(matches!(s.validate(), Err(AppError::BadRequest(_))));
    }

    #[test]
    fn images_are_told_by_content() {
        assert_eq!(sniff_image(b"\xFF\xD8\xFF\xE0rest"), Some("image/jpeg"));
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff_image(b"<svg>"), None);
        assert_eq!(sniff_image(b"GIF89a"), None);
    }
}
