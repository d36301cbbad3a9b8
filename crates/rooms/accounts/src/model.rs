//! Account types that parse and validate their input.

use serde::{Deserialize, Serialize};
use yidu_kernel::{AppError, AppResult, Role};

#[derive(Debug, Clone)]
pub struct AccountsConfig {
    /// Failed logins in a row before the account is locked.
    pub max_failures: i64,
    /// How long a lockout lasts.
    pub lockout_minutes: i64,
    /// A session unused this long is ended.
    pub idle_minutes: i64,
    /// A session ends this long after login whatever happens.
    pub absolute_hours: i64,
    /// Lifetime of API tokens issued by `POST /api/v1/auth/login`.
    pub token_hours: i64,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            max_failures: 5,
            lockout_minutes: 5,
            idle_minutes: 30,
            absolute_hours: 12,
            token_hours: 24,
        }
    }
}

/// A login name: 3 to 32 characters of lowercase letters, digits, `.`, `_`, `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> AppResult<Username> {
        let s = s.trim().to_ascii_lowercase();
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if s.len() < 3 || s.len() > 32 || !ok_chars {
            return Err(AppError::field(
                "username",
                "用户名须为 3-32 位小写字母、数字或 . _ -",
                "username must be 3-32 lowercase letters, digits, '.', '_' or '-'",
            ));
        }
        Ok(Username(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password that meets the policy: at least 8 characters from at least three of
/// the four classes (lowercase, uppercase, digits, symbols), as GB/T 22239 level 3 asks
/// for complexity.
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    pub fn parse(field: &str, s: &str) -> AppResult<NewPassword> {
        let classes = [
            s.chars().any(|c| c.is_ascii_lowercase()),
            s.chars().any(|c| c.is_ascii_uppercase()),
            s.chars().any(|c| c.is_ascii_digit()),
            s.chars().any(|c| !c.is_ascii_alphanumeric()),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if s.chars().count() < 8 || classes < 3 {
            return Err(AppError::field(
                field,
                "密码至少 8 位，且包含大写字母、小写字母、数字、符号中的至少三类",
                "password needs at least 8 characters from at least three of: uppercase, lowercase, digits, symbols",
            ));
        }
        if s.chars().count() > 128 {
            return Err(AppError::field(
                field,
                "密码过长（最多 128 位）",
                "password too long (128 at most)",
            ));
        }
        Ok(NewPassword(s.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// What it takes to create a user.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    /// admin, office, township, station, deputy, department, committee
    pub role: String,
    /// Id of the region (office, township), station, deputy, unit or committee.
    pub scope_id: Option<i64>,
    /// Initial password; the user must change it at first login.
    #[schema(format = Password)]
    pub password: String,
}

/// A user as shown to staff (never with the password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope_id: Option<i64>,
    pub scope_path: String,
    pub disabled: bool,
    pub must_change_password: bool,
    /// UTC milliseconds until which the account is locked (0: not locked).
    pub locked_until: i64,
    pub created_at: i64,
}

pub fn parse_display_name(s: &str) -> AppResult<String> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 50 {
        return Err(AppError::field(
            "display_name",
            "姓名不能为空且不超过 50 字",
            "display name must be 1-50 characters",
        ));
    }
    Ok(s.to_string())
}

pub fn parse_role(s: &str) -> AppResult<Role> {
    Role::parse(s.trim()).ok_or_else(|| {
        AppError::field(
            "role",
            "角色应为 admin/office/township/station/deputy/department/committee 之一",
            "role must be one of admin, office, township, station, deputy, department, committee",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert!(NewPassword::parse("p", "Abcdefg1").is_ok());
        assert!(NewPassword::parse("p", "abcdefg1!").is_ok());
        assert!(
            NewPassword::parse("p", "abcdefgh1").is_err(),
            "two classes only"
        );
        assert!(NewPassword::parse("p", "Ab1!").is_err(), "too short");
        match NewPassword::parse("new_password", "short") {
            Err(AppError::Validation(v)) => assert_eq!(v[0].field, "new_password"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn usernames() {
        assert_eq!(Username::parse(" Town1 ").unwrap().as_str(), "town1");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("张三").is_err());
        assert!(Username::parse("a b c").is_err());
    }
}
