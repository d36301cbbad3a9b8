//! Masking, in one place: what everyone but the current handler sees of a name or a number.

/// "13812341234" → "138****1234"; landlines alike ("01012345678" → "010****5678"). Separators
/// in the input are ignored; the mask always has four stars so it does not tell the length.
/// Anything with fewer than eight digits shows nothing but "****".
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return "****".to_string();
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// "张三丰" → "张*丰", "张三" → "张*", "欧阳娜娜" → "欧**娜", "张" → "*": first and (from
/// three characters on) last character kept, one star per hidden character.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_string(),
        2 => format!("{}*", chars[0]),
        n => {
            let mut out = String::with_capacity(n + 6);
            out.push(chars[0]);
            out.extend(std::iter::repeat_n('*', n - 2));
            out.push(chars[n - 1]);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_phones() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("138-1234-1234"), "138****1234");
        assert_eq!(mask_phone("01012345678"), "010****5678");
        assert_eq!(mask_phone("057112345678"), "057****5678");
        assert_eq!(mask_phone("1234567"), "****");
        assert_eq!(mask_phone(""), "****");
    }

    #[test]
    fn masks_names() {
        assert_eq!(mask_name("张三丰"), "张*丰");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name(" 张三 "), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("买买提·艾力"), "买****力");
        assert_eq!(mask_name("张"), "*");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name("Li Lei"), "L****i");
    }
}
