//! The accounts room's SQL. Nothing else touches `users`, `sessions` or `api_tokens`.

use crate::model::User;
use yidu_db::{AnyConnection, AnyRow, Db, Row};
use yidu_kernel::{Principal, Role};

pub struct UserRow {
    pub user: User,
    pub password_hash: String,
    pub failed_logins: i64,
}

const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.password_hash, u.role, u.scope_id, \
     u.scope_region_id, u.scope_path, u.must_change_password, u.disabled, u.failed_logins, u.locked_until, u.created_at";

fn user_from_row(r: &AnyRow) -> UserRow {
    let role: String = r.get("role");
    UserRow {
        user: User {
            id: r.get("id"),
            username: r.get("username"),
            display_name: r.get("display_name"),
            role: Role::parse(&role).unwrap_or(Role::Station),
            scope_id: r.get("scope_id"),
            scope_path: r.get("scope_path"),
            disabled: r.get::<i64, _>("disabled") != 0,
            must_change_password: r.get::<i64, _>("must_change_password") != 0,
            locked_until: r.get("locked_until"),
            created_at: r.get("created_at"),
        },
        password_hash: r.get("password_hash"),
        failed_logins: r.get("failed_logins"),
    }
}

pub fn principal_of(u: &User) -> Principal {
    Principal {
        user_id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: u.role,
        scope_id: u.scope_id,
        scope_path: if u.role == Role::Admin {
            "/".into()
        } else {
            u.scope_path.clone()
        },
        must_change_password: u.must_change_password,
    }
}

pub async fn user_by_name(db: &Db, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1");
    Ok(sqlx::query(&sql)
        .bind(username)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(user_from_row))
}

pub async fn user_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    Ok(sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(user_from_row))
}

pub struct InsertUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub scope_id: Option<i64>,
    pub scope_region_id: Option<i64>,
    pub scope_path: &'a str,
    pub must_change_password: bool,
}

pub async fn insert_user(
    conn: &mut AnyConnection,
    u: &InsertUser<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO users (username, display_name, password_hash, role, scope_id, scope_region_id, scope_path,
                            must_change_password, disabled, failed_logins, locked_until, password_changed_at,
                            created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, 0, $9, $9, $9) RETURNING id",
    )
    .bind(u.username)
    .bind(u.display_name)
    .bind(u.password_hash)
    .bind(u.role.as_str())
    .bind(u.scope_id)
    .bind(u.scope_region_id)
    .bind(u.scope_path)
    .bind(u.must_change_password as i64)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .get(0))
}

pub async fn record_failure(
    conn: &mut AnyConnection,
    id: i64,
    failed_logins: i64,
    locked_until: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET failed_logins = $2, locked_until = $3 WHERE id = $1")
        .bind(id)
        .bind(failed_logins)
        .bind(locked_until)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_password(
    conn: &mut AnyConnection,
    id: i64,
    hash: &str,
    must_change: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET password_hash = $2, must_change_password = $3, password_changed_at = $4,
                          updated_at = $4, failed_logins = 0, locked_until = 0 WHERE id = $1",
    )
    .bind(id)
    .bind(hash)
    .bind(must_change as i64)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_disabled(
    conn: &mut AnyConnection,
    id: i64,
    disabled: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(disabled as i64)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn update_display_name(
    conn: &mut AnyConnection,
    id: i64,
    name: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET display_name = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn list_users(
    db: &Db,
    like: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<User>, i64), sqlx::Error> {
    let total: i64 = sqlx::query("SELECT COUNT(*) FROM users u WHERE u.scope_path LIKE $1")
        .bind(like)
        .fetch_one(db.pool())
        .await?
        .get(0);
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.scope_path LIKE $1 ORDER BY u.username LIMIT $2 OFFSET $3"
    );
    let rows = sqlx::query(&sql)
        .bind(like)
        .bind(limit)
        .bind(offset)
        .fetch_all(db.pool())
        .await?;
    Ok((rows.iter().map(|r| user_from_row(r).user).collect(), total))
}

// Sessions and tokens are stored by the SHA-256 of their secret, so a copy of the
// database does not hand out live credentials.

pub async fn insert_session(
    conn: &mut AnyConnection,
    id_hash: &str,
    user_id: i64,
    csrf: &str,
    client: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, csrf_token, created_at, last_seen_at, client) VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(id_hash)
    .bind(user_id)
    .bind(csrf)
    .bind(now)
    .bind(client)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub struct SessionRow {
    pub user: User,
    pub csrf: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

pub async fn session(db: &Db, id_hash: &str) -> Result<Option<SessionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, s.csrf_token, s.created_at AS s_created, s.last_seen_at
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1"
    );
    let row = sqlx::query(&sql)
        .bind(id_hash)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| SessionRow {
        user: user_from_row(&r).user,
        csrf: r.get("csrf_token"),
        created_at: r.get("s_created"),
        last_seen_at: r.get("last_seen_at"),
    }))
}

pub async fn touch_session(db: &Db, id_hash: &str, now: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
        .bind(id_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

pub async fn delete_session(conn: &mut AnyConnection, id_hash: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(id_hash)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

pub async fn delete_user_sessions(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn insert_token(
    conn: &mut AnyConnection,
    user_id: i64,
    name: &str,
    hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at, last_used_at, expires_at, revoked)
         VALUES ($1, $2, $3, $4, $4, $5, 0) RETURNING id",
    )
    .bind(user_id)
    .bind(name)
    .bind(hash)
    .bind(now)
    .bind(expires_at)
    .fetch_one(&mut *conn)
    .await?
    .get(0))
}

pub async fn token_user(db: &Db, hash: &str, now: i64) -> Result<Option<User>, sqlx::Error> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.revoked = 0 AND t.expires_at > $2"
    );
    let row = sqlx::query(&sql)
        .bind(hash)
        .bind(now)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| user_from_row(&r).user))
}

pub async fn revoke_token(conn: &mut AnyConnection, hash: &str) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE token_hash = $1")
            .bind(hash)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}
