//! Citizens' photos: accepted only when their bytes are a JPEG or PNG image, and
//! stored without the metadata cameras put in them (GPS position, device, time), which
//! would reveal more about the citizen than the photo shows.

use super::input::{sniff_image, MAX_PHOTO_BYTES};
use yidu_kernel::{AppError, AppResult, FieldError};

/// Checks one upload and returns (content type, bytes without metadata).
pub fn clean_photo(index: usize, bytes: &[u8]) -> AppResult<(&'static str, Vec<u8>)> {
    let field = format!("photos[{index}]");
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(AppError::Validation(vec![FieldError::new(
            field,
            "照片不能超过 5 MB",
            "a photo must be at most 5 MB",
        )]));
    }
    clean_image(&field, bytes)
}

/// A JPEG or PNG (by content) without its metadata; the error names `field`.
pub fn clean_image(field: &str, bytes: &[u8]) -> AppResult<(&'static str, Vec<u8>)> {
    let bad = |zh: &str, en: &str| AppError::Validation(vec![FieldError::new(field, zh, en)]);
    match sniff_image(bytes) {
        Some("image/jpeg") => strip_jpeg(bytes)
            .map(|b| ("image/jpeg", b))
            .ok_or_else(|| bad("照片文件已损坏", "the photo file is damaged")),
        Some("image/png") => strip_png(bytes)
            .map(|b| ("image/png", b))
            .ok_or_else(|| bad("照片文件已损坏", "the photo file is damaged")),
        _ => Err(bad(
            "只接受 JPEG 或 PNG 格式的照片",
            "only JPEG or PNG photos are accepted",
        )),
    }
}

/// Drops APP1..APP15 segments (EXIF, XMP, IPTC, ...) and comments from a JPEG, keeping
/// APP0 (JFIF) and everything the decoder needs. Returns None for a malformed file.
fn strip_jpeg(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]); // SOI
    let mut i = 2;
    loop {
        if i + 4 > b.len() || b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if len < 2 || i + 2 + len > b.len() {
            return None;
        }
        let segment = &b[i..i + 2 + len];
        let is_metadata = (0xE1..=0xEF).contains(&marker) || marker == 0xFE;
        if !is_metadata {
            out.extend_from_slice(segment);
        }
        i += 2 + len;
        if marker == 0xDA {
            // Start of scan: the entropy-coded data and the rest follow unchanged.
            out.extend_from_slice(&b[i..]);
            return Some(out);
        }
    }
}

/// Drops the text, time and EXIF chunks of a PNG. Returns None for a malformed file.
fn strip_png(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..8]);
    let mut i = 8;
    while i + 12 <= b.len() {
        let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        let end = i.checked_add(12)?.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        let kind = &b[i + 4..i + 8];
        let drop = matches!(kind, b"tEXt" | b"zTXt" | b"iTXt" | b"eXIf" | b"tIME");
        if !drop {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
        if kind == b"IEND" {
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, marker];
        v.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn jpeg_loses_exif_but_keeps_image_data() {
        let mut jpg = vec![0xFF, 0xD8];
        jpg.extend(segment(0xE0, b"JFIF\0\x01\x01"));
        jpg.extend(segment(0xE1, b"Exif\0\0GPS 30.1N 120.2E"));
        jpg.extend(segment(0xFE, b"comment"));
        jpg.extend(segment(0xDB, &[0u8; 65]));
        jpg.extend(segment(0xDA, &[1, 2, 3]));
        jpg.extend_from_slice(&[9, 9, 9, 0xFF, 0xD9]);
        let (ct, clean) = clean_photo(0, &jpg).unwrap();
        assert_eq!(ct, "image/jpeg");
        let s = String::from_utf8_lossy(&clean);
        assert!(!s.contains("GPS") && !s.contains("comment") && s.contains("JFIF"));
        assert!(clean.ends_with(&[9, 9, 9, 0xFF, 0xD9]));
    }

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut v = (data.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(data);
        v.extend_from_slice(&[0, 0, 0, 0]); // CRC is not checked here
        v
    }

    #[test]
    fn png_loses_text_chunks() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &[0; 13]));
        png.extend(chunk(b"tEXt", b"Author\0Zhang San"));
        png.extend(chunk(b"IDAT", &[1, 2, 3]));
        png.extend(chunk(b"IEND", &[]));
        let (_, clean) = clean_photo(1, &png).unwrap();
        assert!(!String::from_utf8_lossy(&clean).contains("Zhang"));
        assert!(String::from_utf8_lossy(&clean).contains("IDAT"));
    }

    #[test]
    fn other_content_is_refused_naming_the_photo() {
        match clean_photo(2, b"<svg onload=alert(1)>") {
            Err(AppError::Validation(v)) => assert_eq!(v[0].field, "photos[2]"),
            other => panic!("{other:?}"),
        }
        assert!(
            clean_photo(0, &[0xFF, 0xD8, 0xFF, 0x00]).is_err(),
            "truncated JPEG"
        );
    }
}
