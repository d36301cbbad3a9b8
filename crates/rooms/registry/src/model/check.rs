//! Field checks shared by the API, the pages and the spreadsheet importer. Each returns
//! the cleaned value or a field error in both languages.

use rand::Rng;
use yidu_kernel::{AppError, AppResult, FieldError};

/// Public codes use letters and digits that cannot be mistaken for one another when
/// read aloud or typed from print (no 0/O, 1/I/L).
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
pub const CODE_LEN: usize = 8;

pub fn new_code() -> String {
    let mut rng = rand::thread_rng();
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// A code given in an import file (to keep printed QR codes valid after a move).
pub fn check_code(field: &str, s: &str) -> Result<String, FieldError> {
    let c = s.trim().to_ascii_uppercase();
    if c.len() >= 4 && c.len() <= 16 && c.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        Ok(c)
    } else {
        Err(FieldError::new(
            field,
            "编码应为 4 至 16 位大写字母或数字（不含 0、1、I、L、O）",
            "the code must be 4 to 16 capital letters or digits (without 0, 1, I, L, O)",
        ))
    }
}

/// A required one-line text of at most `max` characters.
pub fn required(field: &str, s: &str, max: usize) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, "不能为空", "must not be empty"));
    }
    optional(field, t, max)
}

/// An optional text of at most `max` characters (empty is fine).
pub fn optional(field: &str, s: &str, max: usize) -> Result<String, FieldError> {
    let t = s.trim();
    if t.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("不能超过 {max} 个字"),
            format!("must be at most {max} characters"),
        ));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            "含有不可见的控制字符",
            "contains control characters",
        ));
    }
    Ok(t.to_string())
}

/// A phone number: digits with optional +, - and spaces; 5 to 20 digits.
pub fn phone(field: &str, s: &str) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(String::new());
    }
    let ok_chars = t
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
    let digits = t.chars().filter(|c| c.is_ascii_digit()).count();
    if ok_chars && (5..=20).contains(&digits) {
        Ok(t.to_string())
    } else {
        Err(FieldError::new(
            field,
            "电话号码格式不对（只能含数字、+、-、空格，5 至 20 位数字）",
            "not a phone number (digits, +, - and spaces only, 5 to 20 digits)",
        ))
    }
}

/// An administrative division code (行政区划代码): 6 to 12 digits, or empty.
pub fn division_code(field: &str, s: &str) -> Result<Option<String>, FieldError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if (6..=12).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) {
        Ok(Some(t.to_string()))
    } else {
        Err(FieldError::new(
            field,
            "区划代码应为 6 至 12 位数字",
            "the division code must be 6 to 12 digits",
        ))
    }
}

pub const MAX_GEOJSON_BYTES: usize = 1024 * 1024;

/// A boundary: a GeoJSON Polygon or MultiPolygon (bare, or inside a Feature), each ring
/// closed and made of at least four [longitude, latitude] positions.
pub fn geojson(field: &str, s: &str) -> Result<Option<String>, FieldError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let bad = |zh: &str, en: &str| FieldError::new(field, zh, en);
    if t.len() > MAX_GEOJSON_BYTES {
        return Err(bad("边界数据超过 1 MB", "the boundary is larger than 1 MB"));
    }
    let v: serde_json::Value = serde_json::from_str(t)
        .map_err(|_| bad("边界不是有效的 JSON", "the boundary is not valid JSON"))?;
    let geom = match v.get("type").and_then(|t| t.as_str()) {
        Some("Feature") => v
            .get("geometry")
            .cloned()
            .unwrap_or(serde_json::Value::Null),
        _ => v.clone(),
    };
    let coords = geom.get("coordinates");
    let ok = match (geom.get("type").and_then(|t| t.as_str()), coords) {
        (Some("Polygon"), Some(c)) => polygon_ok(c),
        (Some("MultiPolygon"), Some(serde_json::Value::Array(polys))) => {
            !polys.is_empty() && polys.iter().all(polygon_ok)
        }
        _ => {
            return Err(bad(
                "边界须为 GeoJSON 的 Polygon 或 MultiPolygon",
                "the boundary must be a GeoJSON Polygon or MultiPolygon",
            ))
        }
    };
    if !ok {
        return Err(bad(
            "边界坐标有误：每个环至少 4 个 [经度, 纬度] 点且首尾相同",
            "bad boundary coordinates: each ring needs at least 4 [longitude, latitude] positions and must be closed",
        ));
    }
    Ok(Some(t.to_string()))
}

fn polygon_ok(v: &serde_json::Value) -> bool {
    let Some(rings) = v.as_array() else {
        return false;
    };
    !rings.is_empty()
        && rings.iter().all(|ring| {
            let Some(pts) = ring.as_array() else {
                return false;
            };
            let positions: Option<Vec<(f64, f64)>> = pts
                .iter()
                .map(|p| {
                    let a = p.as_array()?;
                    if a.len() < 2 {
                        return None;
                    }
                    let (x, y) = (a[0].as_f64()?, a[1].as_f64()?);
                    ((-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y)).then_some((x, y))
                })
                .collect();
            match positions {
                Some(ps) => ps.len() >= 4 && ps.first() == ps.last(),
                None => false,
            }
        })
}

pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;

/// The content type of a JPEG or PNG photo, judged by its first bytes (never by the name
/// or the type the client claims).
pub fn photo_type(bytes: &[u8]) -> AppResult<&'static str> {
    if bytes.is_empty() {
        return Err(AppError::field(
            "photo",
            "照片文件为空",
            "the photo file is empty",
        ));
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(AppError::field(
            "photo",
            "照片不能超过 2 MB",
            "the photo must be at most 2 MB",
        ));
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Ok("image/png")
    } else {
        Err(AppError::field(
            "photo",
            "照片须为 JPEG 或 PNG 图片",
            "the photo must be a JPEG or PNG image",
        ))
    }
}

/// Shows only the first three and last four digits of a phone number (for audit summaries).
pub fn mask_phone(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unambiguous() {
        for _ in 0..100 {
            let c = new_code();
            assert_eq!(c.len(), CODE_LEN);
            assert!(check_code("c", &c).is_ok());
            assert!(!c.contains(['0', '1', 'I', 'L', 'O']));
        }
        assert!(check_code("c", "ab2c").is_ok());
        assert!(check_code("c", "AB0C").is_err());
    }

    #[test]
    fn texts_and_phones() {
        assert_eq!(required("n", "  张三 ", 10).unwrap(), "张三");
        assert!(required("n", "  ", 10).is_err());
        assert!(optional("n", "一二三", 2).is_err());
        assert_eq!(phone("p", "0574-8765 4321").unwrap(), "0574-8765 4321");
        assert!(phone("p", "call me").is_err());
        assert_eq!(phone("p", "").unwrap(), "");
        assert_eq!(
            division_code("d", "330203").unwrap().as_deref(),
            Some("330203")
        );
        assert!(division_code("d", "33a").is_err());
        assert_eq!(mask_phone("13800001234"), "138****1234");
    }

    #[test]
    fn geojson_polygons_only() {
        let square = r#"{"type":"Polygon","coordinates":[[[121.5,29.8],[121.6,29.8],[121.6,29.9],[121.5,29.8]]]}"#;
        assert!(geojson("g", square).unwrap().is_some());
        let feature = format!(r#"{{"type":"Feature","properties":{{}},"geometry":{square}}}"#);
        assert!(geojson("g", &feature).is_ok());
        let multi = r#"{"type":"MultiPolygon","coordinates":[[[[121.5,29.8],[121.6,29.8],[121.6,29.9],[121.5,29.8]]]]}"#;
        assert!(geojson("g", multi).is_ok());
        assert!(geojson("g", "").unwrap().is_none());
        assert!(geojson("g", "not json").is_err());
        assert!(geojson("g", r#"{"type":"Point","coordinates":[1,2]}"#).is_err());
        let open = r#"{"type":"Polygon","coordinates":[[[121.5,29.8],[121.6,29.8],[121.6,29.9],[121.7,29.8]]]}"#;
        assert!(geojson("g", open).is_err());
        let off_earth = r#"{"type":"Polygon","coordinates":[[[221.5,29.8],[121.6,29.8],[121.6,29.9],[221.5,29.8]]]}"#;
        assert!(geojson("g", off_earth).is_err());
    }

    #[test]
    fn photos_by_magic_bytes() {
        assert_eq!(
            photo_type(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2]).unwrap(),
            "image/jpeg"
        );
        assert_eq!(photo_type(b"\x89PNG\r\n\x1a\nrest").unwrap(), "image/png");
        assert!(photo_type(b"GIF89a").is_err());
        assert!(photo_type(&[]).is_err());
        assert!(photo_type(&vec![0xFF; MAX_PHOTO_BYTES + 1]).is_err());
    }
}
