//! Phone numbers of mainland China, normalized so that the same number always gives the same
//! blind index however it was typed.

use crate::mask::mask_phone;
use std::fmt;
use yidu_kernel::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneKind {
    /// 11 digits, 1[3-9]xxxxxxxxx.
    Mobile,
    /// Area code with its leading 0, then a 7- or 8-digit number.
    Landline,
}

/// A valid mainland phone number, held as digits only ("13812341234", "01012345678").
/// `Debug` and `Display` show it masked; [`Phone::as_str`] gives the digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    digits: String,
    kind: PhoneKind,
}

impl Phone {
    /// Parses what a person typed: spaces, dashes, dots and brackets (half- or full-width) are
    /// ignored, full-width digits accepted, and +86 / 0086 / 86 prefixes removed. Errors name
    /// the field "phone".
    pub fn parse(input: &str) -> Result<Phone, AppError> {
        Phone::parse_field("phone", input)
    }

    /// [`Phone::parse`] for a field with another name.
    pub fn parse_field(field: &str, input: &str) -> Result<Phone, AppError> {
        parse(input).map_err(|(zh, en)| AppError::field(field, zh, en))
    }

    /// `None` for a blank input (the phone is optional: anonymous submissions are allowed).
    pub fn parse_optional(field: &str, input: &str) -> Result<Option<Phone>, AppError> {
        if input.trim().is_empty() {
            return Ok(None);
        }
        Phone::parse_field(field, input).map(Some)
    }

    /// The normalized digits: what is sealed and what the blind index is computed from.
    pub fn as_str(&self) -> &str {
        &self.digits
    }

    pub fn kind(&self) -> PhoneKind {
        self.kind
    }

    /// "138****1234".
    pub fn masked(&self) -> String {
        mask_phone(&self.digits)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

type Reason = (&'static str, &'static str);

const NOT_DIGITS: Reason = (
    "电话号码只能包含数字、空格、“-”和“+86”",
    "A phone number may contain only digits, spaces, '-' and '+86'",
);
const FOREIGN: Reason = (
    "只支持中国大陆的电话号码",
    "Only mainland China phone numbers are accepted",
);
const NO_AREA_CODE: Reason = (
    "座机号码请加区号，例如 010-62345678",
    "Add the area code to a landline number, e.g. 010-62345678",
);
const INVALID: Reason = (
    "请填写11位手机号码，或带区号的座机号码",
    "Enter an 11-digit mobile number, or a landline number with its area code",
);
const EMPTY: Reason = ("请填写电话号码", "Enter a phone number");

fn parse(input: &str) -> Result<Phone, Reason> {
    let mut s = String::with_capacity(input.len());
    for c in input.trim().chars() {
        match c {
            '0'..='9' | '+' => s.push(c),
            '０'..='９' => s.push(char::from(b'0' + (c as u32 - '０' as u32) as u8)),
            '＋' => s.push('+'),
            ' ' | '\u{3000}' | '\t' | '-' | '－' | '—' | '.' | '(' | ')' | '（' | '）' => {}
            _ => return Err(NOT_DIGITS),
        }
    }
    if s.is_empty() {
        return Err(EMPTY);
    }
    let national = if let Some(rest) = s.strip_prefix("+86").or_else(|| s.strip_prefix("0086")) {
        // After the country code a landline drops its trunk 0: "+86 10 1234 5678".
        if rest.starts_with('0') || is_mobile(rest) {
            rest.to_string()
        } else {
            format!("0{rest}")
        }
    } else if s.starts_with('+') || s.starts_with("00") {
        return Err(FOREIGN);
    } else if s.len() == 13 && s.starts_with("86") && is_mobile(&s[2..]) {
        s[2..].to_string()
    } else {
        s
    };
    if national.contains('+') {
        return Err(NOT_DIGITS);
    }
    if is_mobile(&national) {
        return Ok(Phone {
            digits: national,
            kind: PhoneKind::Mobile,
        });
    }
    if is_landline(&national) {
        return Ok(Phone {
            digits: national,
            kind: PhoneKind::Landline,
        });
    }
    if matches!(national.len(), 7 | 8) && !national.starts_with(['0', '1']) {
        return Err(NO_AREA_CODE);
    }
    Err(INVALID)
}

fn is_mobile(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && all_digits(d)
}

/// Area codes: 010 and 02x have three digits with the 0 and an 8-digit number; the others
/// (0[3-9]xx) have four and a 7- or 8-digit number. Local numbers never start with 0 or 1.
fn is_landline(d: &str) -> bool {
    if !all_digits(d) || !d.starts_with('0') {
        return false;
    }
    let (area, local) = if d.starts_with("010") || d.starts_with("02") {
        d.split_at(3)
    } else if d.len() > 4 && matches!(d.as_bytes()[1], b'3'..=b'9') {
        d.split_at(4)
    } else {
        return false;
    };
    let local_ok = if area.len() == 3 {
        local.len() == 8
    } else {
        matches!(local.len(), 7 | 8)
    };
    local_ok && !local.starts_with(['0', '1'])
}

fn all_digits(d: &str) -> bool {
    d.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        Phone::parse(input)
            .unwrap_or_else(|e| panic!("{input}: {e:?}"))
            .as_str()
            .to_string()
    }

    fn reason(input: &str) -> String {
        match Phone::parse(input) {
            Err(AppError::Validation(errs)) => {
                assert_eq!(errs[0].field, "phone");
                errs[0].en.clone()
            }
            other => panic!("{input}: {other:?}"),
        }
    }

    #[test]
    fn normalizes_mobiles() {
        for input in [
            "13812341234",
            "138 1234 1234",
            "138-1234-1234",
            "+86 138 1234 1234",
            "+8613812341234",
            "0086 13812341234",
            "8613812341234",
            "１３８１２３４１２３４",
            "＋86 138-1234-1234",
            " 13812341234 ",
        ] {
            assert_eq!(ok(input), "13812341234", "{input}");
        }
        assert_eq!(
            Phone::parse("19912345678").unwrap().kind(),
            PhoneKind::Mobile
        );
    }

    #[test]
    fn normalizes_landlines() {
        assert_eq!(ok("010-62345678"), "01062345678");
        assert_eq!(ok("(010) 8765 4321"), "01087654321");
        assert_eq!(ok("（021）62345678"), "02162345678");
        assert_eq!(ok("0571-8765432"), "05718765432");
        assert_eq!(ok("0755-26543210"), "075526543210");
        assert_eq!(ok("+86 10 6234 5678"), "01062345678");
        assert_eq!(ok("+86 571 8765 4321"), "057187654321");
        assert_eq!(ok("0086-21-62345678"), "02162345678");
        assert_eq!(
            Phone::parse("010-62345678").unwrap().kind(),
            PhoneKind::Landline
        );
    }

    #[test]
    fn refuses_what_is_not_a_mainland_number() {
        assert!(reason("12345678901").contains("11-digit")); // 12x is no mobile prefix
        assert!(reason("1381234123").contains("11-digit")); // ten digits
        assert!(reason("138123412345").contains("11-digit")); // twelve digits
        assert!(reason("12345").contains("11-digit"));
        assert!(reason("110").contains("11-digit"));
        assert!(reason("87654321").contains("area code"));
        assert!(reason("8765432").contains("area code"));
        assert!(reason("010-1234567").contains("11-digit")); // Beijing numbers have 8 digits
        assert!(reason("010-02345678").contains("11-digit")); // local part starts with 0
        assert!(reason("011-12345678").contains("11-digit")); // no such area code
        assert!(reason("+1 415 555 0100").contains("mainland"));
        assert!(reason("+852 9123 4567").contains("mainland"));
        assert!(reason("138abcd1234").contains("only digits"));
        assert!(reason("138+12341234").contains("only digits"));
        assert!(reason("   ").contains("Enter a phone"));
        let Err(AppError::Validation(errs)) = Phone::parse_field("contact", "x") else {
            panic!()
        };
        assert_eq!(errs[0].field, "contact");
        assert!(errs[0].zh.contains("电话号码"));
        assert_eq!(Phone::parse_optional("phone", "  ").unwrap(), None);
        assert!(Phone::parse_optional("phone", "13812341234")
            .unwrap()
            .is_some());
    }

    #[test]
    fn prints_masked() {
        let p = Phone::parse("13812341234").unwrap();
        assert_eq!(format!("{p:?}"), "Phone(138****1234)");
        assert_eq!(p.to_string(), "138****1234");
        assert_eq!(p.masked(), "138****1234");
    }
}
