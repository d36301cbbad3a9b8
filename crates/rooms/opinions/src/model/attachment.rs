//! Attachments of a handler's reply (答复附件): PDF documents and JPEG or PNG images,
//! recognised by their bytes (never by name or declared type), at most
//! [`MAX_ATTACHMENTS`] of [`MAX_ATTACHMENT_BYTES`] each. Images lose their metadata like
//! citizens' photos do (a handler's phone camera records where the handler stood).

use super::photo::clean_image;
use yidu_kernel::{AppError, AppResult, FieldError};

pub const MAX_ATTACHMENTS: usize = 5;
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

/// An uploaded file with the name the browser gave it.
#[derive(Clone, Default)]
pub struct NamedUpload {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for NamedUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NamedUpload({:?}, {} bytes)",
            self.name,
            self.bytes.len()
        )
    }
}

/// A checked attachment, ready to store.
#[derive(Debug, Clone)]
pub struct CleanAttachment {
    pub content_type: &'static str,
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The last path component, without control characters or quotes, at most 100
/// characters, with the extension the content calls for.
fn safe_name(given: &str, index: usize, ext: &str) -> String {
    let base = given.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '*' | '?' | '|'))
        .collect();
    let stem = clean
        .rsplit_once('.')
        .map(|(s, _)| s.to_string())
        .unwrap_or(clean)
        .trim()
        .chars()
        .take(90)
        .collect::<String>();
    let stem = if stem.is_empty() {
        format!("附件{}", index + 1)
    } else {
        stem
    };
    format!("{stem}.{ext}")
}

/// Checks one attachment; the error names `attachments[index]`.
pub fn clean_attachment(index: usize, up: &NamedUpload) -> AppResult<CleanAttachment> {
    let field = format!("attachments[{index}]");
    if up.bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(AppError::Validation(vec![FieldError::new(
            field,
            "附件不能超过 10 MB",
            "an attachment must be at most 10 MB",
        )]));
    }
    if up.bytes.starts_with(b"%PDF-") {
        return Ok(CleanAttachment {
            content_type: "application/pdf",
            name: safe_name(&up.name, index, "pdf"),
            bytes: up.bytes.clone(),
        });
    }
    if super::input::sniff_image(&up.bytes).is_none() {
        return Err(AppError::Validation(vec![FieldError::new(
            field,
            "附件只能是 PDF、JPEG 或 PNG 文件",
            "attachments must be PDF, JPEG or PNG files",
        )]));
    }
    let (ct, bytes) = clean_image(&field, &up.bytes)?;
    let ext = if ct == "image/png" { "png" } else { "jpg" };
    Ok(CleanAttachment {
        content_type: ct,
        name: safe_name(&up.name, index, ext),
        bytes,
    })
}

/// Checks every attachment and names every problem at once.
pub fn clean_all(uploads: &[NamedUpload]) -> AppResult<Vec<CleanAttachment>> {
    if uploads.len() > MAX_ATTACHMENTS {
        return Err(AppError::field(
            "attachments",
            &format!("最多 {MAX_ATTACHMENTS} 个附件"),
            &format!("at most {MAX_ATTACHMENTS} attachments"),
        ));
    }
    let mut problems = yidu_kernel::error::Problems::default();
    let mut out = Vec::with_capacity(uploads.len());
    for (i, u) in uploads.iter().enumerate() {
        if let Some(c) = problems.take(clean_attachment(i, u)) {
            out.push(c);
        }
    }
    problems.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(name: &str, bytes: &[u8]) -> NamedUpload {
        NamedUpload {
            name: name.into(),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn pdf_and_images_by_content_with_safe_names() {
        let pdf = clean_attachment(0, &up("C:\\docs\\答复函.exe", b"%PDF-1.7 ...")).unwrap();
        assert_eq!(pdf.content_type, "application/pdf");
        assert_eq!(pdf.name, "答复函.pdf");
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\0IEND\0\0\0\0";
        let img = clean_attachment(1, &up("", png)).unwrap();
        assert_eq!(
            (img.content_type, img.name.as_str()),
            ("image/png", "附件2.png")
        );
        match clean_attachment(2, &up("x.pdf", b"<html>")) {
            Err(AppError::Validation(v)) => assert_eq!(v[0].field, "attachments[2]"),
            other => panic!("{other:?}"),
        }
        let big = vec![b'%'; MAX_ATTACHMENT_BYTES + 1];
        assert!(clean_attachment(0, &up("a.pdf", &big)).is_err());
        assert!(clean_all(&vec![up("a.pdf", b"%PDF-1"); 6]).is_err());
    }
}
