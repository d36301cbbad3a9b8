//! Account use cases. Every function that acts for someone checks the actor's role and
//! scope itself; pages, APIs and the CLI only call these.

use crate::model::{
    parse_display_name, parse_role, AccountsConfig, NewPassword, NewUser, User, Username,
};
use crate::store::{self, InsertUser};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use yidu_audit::{Actor, Entry};
use yidu_db::{AnyConnection, Db};
use yidu_kernel::error::Problems;
use yidu_kernel::{clock::now_ms, AppError, AppResult, Msg, Page, PageQuery, Principal, Role};
use yidu_registry::scope::ScopeRegion;
use yidu_web::auth::BoxFut;
use yidu_web::Authenticator;

const MINUTE: i64 = 60_000;

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Hashes on the blocking pool: argon2 is deliberately slow.
pub async fn hash_password(pw: &str) -> AppResult<String> {
    let pw = pw.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(pw.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(anyhow::anyhow!("hashing failed: {e}")))
    })
    .await
    .map_err(AppError::internal)?
}

async fn verify_password(hash: &str, pw: &str) -> bool {
    let (hash, pw) = (hash.to_string(), pw.to_string());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A fixed hash to verify against when the username is unknown, so that the response
/// time does not reveal which usernames exist.
async fn dummy_verify(pw: &str) {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    if let Ok(h) = DUMMY
        .get_or_try_init(|| async { hash_password("not-a-real-password-Aa1!").await })
        .await
    {
        verify_password(h, pw).await;
    }
}

fn wrong_credentials() -> AppError {
    AppError::field("password", "用户名或密码错误", "wrong username or password")
}

fn user_entry(action: &str, u: &User) -> Entry {
    Entry::new(action, "user", u.id).at(&u.scope_path, None)
}

/// Checks a username and password and applies the lockout policy. Every outcome is
/// audited (MLPS level 3 asks for login events in the audit trail).
pub async fn authenticate(
    db: &Db,
    cfg: &AccountsConfig,
    username: &str,
    password: &str,
    client: &str,
) -> AppResult<Principal> {
    let name = username.trim().to_ascii_lowercase();
    let Some(row) = store::user_by_name(db, &name).await? else {
        dummy_verify(password).await;
        yidu_audit::service::record_alone(
            db,
            &Actor::system(client),
            Entry::new("user.login_unknown", "user", &name).summary("unknown username"),
        )
        .await?;
        return Err(wrong_credentials());
    };
    let now = now_ms();
    let actor = Actor {
        user_id: row.user.id,
        name: row.user.username.clone(),
        client: client.to_string(),
    };
    if row.user.locked_until > now {
        let minutes = (row.user.locked_until - now + MINUTE - 1) / MINUTE;
        return Err(AppError::Locked(Msg::new(
            format!("登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试"),
            format!("Too many failed logins: the account is locked, try again in {minutes} min"),
        )));
    }
    if row.user.disabled {
        dummy_verify(password).await;
        return Err(AppError::field(
            "username",
            "该账号已停用",
            "this account is disabled",
        ));
    }
    if !verify_password(&row.password_hash, password).await {
        let failures = row.failed_logins + 1;
        let mut tx = db.begin().await?;
        let locked = failures >= cfg.max_failures;
        if locked {
            store::record_failure(&mut tx, row.user.id, 0, now + cfg.lockout_minutes * MINUTE)
                .await?;
            yidu_audit::record(
                &mut tx,
                &actor,
                user_entry("user.locked", &row.user).summary(format!(
                    "{failures} failed logins; locked for {} min",
                    cfg.lockout_minutes
                )),
            )
            .await?;
        } else {
            store::record_failure(&mut tx, row.user.id, failures, 0).await?;
            yidu_audit::record(&mut tx, &actor, user_entry("user.login_failed", &row.user)).await?;
        }
        tx.commit().await?;
        if locked {
            return Err(AppError::Locked(Msg::new(
                format!("登录失败次数过多，账号已锁定 {} 分钟", cfg.lockout_minutes),
                format!(
                    "Too many failed logins: the account is locked for {} min",
                    cfg.lockout_minutes
                ),
            )));
        }
        return Err(wrong_credentials());
    }
    let mut tx = db.begin().await?;
    store::record_failure(&mut tx, row.user.id, 0, 0).await?;
    yidu_audit::record(&mut tx, &actor, user_entry("user.login", &row.user)).await?;
    tx.commit().await?;
    Ok(store::principal_of(&row.user))
}

/// Starts a browser session; returns (session token, CSRF token).
pub async fn start_session(db: &Db, p: &Principal, client: &str) -> AppResult<(String, String)> {
    let token = random_hex(32);
    let csrf = random_hex(24);
    let mut tx = db.begin().await?;
    store::insert_session(
        &mut tx,
        &sha256_hex(&token),
        p.user_id,
        &csrf,
        client,
        now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok((token, csrf))
}

pub async fn end_session(db: &Db, token: &str, actor: &Actor) -> AppResult<()> {
    let mut tx = db.begin().await?;
    if store::delete_session(&mut tx, &sha256_hex(token)).await? > 0 {
        yidu_audit::record(
            &mut tx,
            actor,
            Entry::new("user.logout", "user", actor.user_id),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Issues an API bearer token; returns (token, expiry in UTC ms).
pub async fn issue_token(
    db: &Db,
    cfg: &AccountsConfig,
    p: &Principal,
    name: &str,
    client: &str,
) -> AppResult<(String, i64)> {
    let token = format!("yidu_{}", random_hex(32));
    let now = now_ms();
    let expires = now + cfg.token_hours * 60 * MINUTE;
    let mut tx = db.begin().await?;
    let id =
        store::insert_token(&mut tx, p.user_id, name, &sha256_hex(&token), now, expires).await?;
    yidu_audit::record(
        &mut tx,
        &Actor::new(p, client),
        Entry::new("api_token.issue", "api_token", id).at(&p.scope_path, None),
    )
    .await?;
    tx.commit().await?;
    Ok((token, expires))
}

pub async fn revoke_token(db: &Db, token: &str, actor: &Actor) -> AppResult<()> {
    let mut tx = db.begin().await?;
    if store::revoke_token(&mut tx, &sha256_hex(token)).await? > 0 {
        yidu_audit::record(
            &mut tx,
            actor,
            Entry::new("api_token.revoke", "api_token", actor.user_id),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The authenticator the web shell calls on every request.
pub struct AccountsAuth {
    pub db: Db,
    pub config: AccountsConfig,
}

impl AccountsAuth {
    async fn resolve_session(&self, token: &str) -> Option<(Principal, String)> {
        let id = sha256_hex(token);
        let row = store::session(&self.db, &id).await.ok()??;
        let now = now_ms();
        let idle = now - row.last_seen_at > self.config.idle_minutes * MINUTE;
        let too_old = now - row.created_at > self.config.absolute_hours * 60 * MINUTE;
        if idle || too_old || row.user.disabled {
            if let Ok(mut tx) = self.db.begin().await {
                let _ = store::delete_session(&mut tx, &id).await;
                let _ = tx.commit().await;
            }
            return None;
        }
        // Touch at most once a minute: a write per request would be wasted work.
        if now - row.last_seen_at > MINUTE {
            if let Err(e) = store::touch_session(&self.db, &id, now).await {
                tracing::warn!(error = %e, "could not touch session");
            }
        }
        Some((store::principal_of(&row.user), row.csrf))
    }
}

impl Authenticator for AccountsAuth {
    fn session<'a>(&'a self, token: &'a str) -> BoxFut<'a, Option<(Principal, String)>> {
        Box::pin(self.resolve_session(token))
    }

    fn bearer<'a>(&'a self, token: &'a str) -> BoxFut<'a, Option<Principal>> {
        Box::pin(async move {
            let user = store::token_user(&self.db, &sha256_hex(token), now_ms())
                .await
                .ok()??;
            (!user.disabled).then(|| store::principal_of(&user))
        })
    }
}

/// Which roles an actor may create or manage, and where.
pub(crate) fn may_manage(actor: &Principal, role: Role, scope_path: &str) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::Office => role != Role::Admin && actor.covers(scope_path),
        Role::Township => matches!(role, Role::Station | Role::Deputy) && actor.covers(scope_path),
        _ => false,
    }
}

/// Creates a user. `must_change_password` is false only for demo accounts and the CLI's
/// explicit choice.
pub async fn create_user(
    db: &Db,
    actor: &Principal,
    client: &str,
    input: &NewUser,
    must_change_password: bool,
) -> AppResult<User> {
    let mut problems = Problems::default();
    let username = problems.take(Username::parse(&input.username));
    let display = problems.take(parse_display_name(&input.display_name));
    let role = problems.take(parse_role(&input.role));
    let password = problems.take(NewPassword::parse("password", &input.password));
    let mut scope = None;
    if let Some(role) = role {
        if role == Role::Admin {
            if input.scope_id.is_some() {
                problems.push(
                    "scope_id",
                    "管理员不绑定范围",
                    "an administrator has no scope",
                );
            }
        } else {
            match input.scope_id {
                None => problems.push(
                    "scope_id",
                    "须指定所属范围",
                    "a scope is required for this role",
                ),
                Some(id) => {
                    match yidu_registry::scope::scope_region(db, role.scope_kind(), id).await? {
                        Some(s) => scope = Some(s),
                        None => problems.push(
                            "scope_id",
                            "所属范围不存在（区域、联络站、代表、单位或工委）",
                            "the scope (region, station, deputy, unit or committee) does not exist",
                        ),
                    }
                }
            }
        }
    }
    problems.finish()?;
    let (username, display, role, password) = (
        username.expect("parsed"),
        display.expect("parsed"),
        role.expect("parsed"),
        password.expect("parsed"),
    );
    let scope_path = scope
        .as_ref()
        .map(|s| s.path.clone())
        .unwrap_or_else(|| "/".into());
    if !may_manage(actor, role, &scope_path) {
        return Err(AppError::Forbidden);
    }
    let checked = CheckedUser {
        username,
        display_name: display,
        role,
        scope_id: input.scope_id,
        scope,
        password_hash: hash_password(password.expose()).await?,
    };
    let mut tx = db.begin().await?;
    let user = insert_checked(&mut tx, actor, client, &checked, must_change_password).await?;
    tx.commit().await?;
    Ok(user)
}

/// A user whose fields are checked, whose scope is resolved and whose creation the
/// actor may perform (`may_manage`), ready to be written.
pub(crate) struct CheckedUser {
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub scope_id: Option<i64>,
    pub scope: Option<ScopeRegion>,
    pub password_hash: String,
}

/// Writes a checked user and its audit record inside the caller's transaction, so a
/// bulk import can create many users all or nothing.
pub(crate) async fn insert_checked(
    conn: &mut AnyConnection,
    actor: &Principal,
    client: &str,
    u: &CheckedUser,
    must_change_password: bool,
) -> AppResult<User> {
    let scope_path = u
        .scope
        .as_ref()
        .map(|s| s.path.clone())
        .unwrap_or_else(|| "/".into());
    let id = store::insert_user(
        conn,
        &InsertUser {
            username: u.username.as_str(),
            display_name: &u.display_name,
            password_hash: &u.password_hash,
            role: u.role,
            scope_id: u.scope_id,
            scope_region_id: u.scope.as_ref().map(|s| s.region_id),
            scope_path: &scope_path,
            must_change_password,
        },
        now_ms(),
    )
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::field("username", "用户名已被使用", "username is taken"),
        other => other,
    })?;
    let user = store::user_by_id(conn, id)
        .await?
        .ok_or(AppError::NotFound)?
        .user;
    yidu_audit::record(
        conn,
        &Actor::new(actor, client),
        Entry::new("user.create", "user", id)
            .at(&scope_path, u.scope.as_ref().and_then(|s| s.district_id))
            .summary(format!(
                "username={} role={} scope={:?}",
                user.username,
                u.role.as_str(),
                u.scope_id
            )),
    )
    .await?;
    Ok(user)
}

/// Loads a user the actor may manage; others are NotFound.
async fn managed_user(db: &Db, actor: &Principal, id: i64) -> AppResult<User> {
    let mut conn = db.pool().acquire().await?;
    let u = store::user_by_id(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?
        .user;
    if !may_manage(actor, u.role, &u.scope_path) && actor.user_id != u.id {
        return Err(AppError::NotFound);
    }
    Ok(u)
}

pub async fn get_user(db: &Db, actor: &Principal, id: i64) -> AppResult<User> {
    managed_user(db, actor, id).await
}

pub async fn list_users(db: &Db, actor: &Principal, q: &PageQuery) -> AppResult<Page<User>> {
    if !matches!(actor.role, Role::Admin | Role::Office | Role::Township) {
        return Err(AppError::Forbidden);
    }
    let (items, total) = store::list_users(db, &actor.scope_like(), q.limit(), q.offset()).await?;
    Ok(Page::new(items, total, q))
}

/// The user changes their own password (required after an initial or reset password).
pub async fn change_own_password(
    db: &Db,
    p: &Principal,
    client: &str,
    old: &str,
    new: &str,
) -> AppResult<()> {
    let mut conn = db.pool().acquire().await?;
    let row = store::user_by_id(&mut conn, p.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    drop(conn);
    let new_pw = NewPassword::parse("new_password", new)?;
    if !verify_password(&row.password_hash, old).await {
        return Err(AppError::field(
            "old_password",
            "原密码不正确",
            "the current password is wrong",
        ));
    }
    if old == new {
        return Err(AppError::field(
            "new_password",
            "新密码不能与原密码相同",
            "the new password must differ from the current one",
        ));
    }
    let hash = hash_password(new_pw.expose()).await?;
    let mut tx = db.begin().await?;
    store::set_password(&mut tx, p.user_id, &hash, false, now_ms()).await?;
    yidu_audit::record(
        &mut tx,
        &Actor::new(p, client),
        user_entry("user.password_change", &row.user),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An administrator (or office staff in scope) sets a new initial password; the user
/// must change it at next login, and their sessions and tokens end.
pub async fn reset_password(
    db: &Db,
    actor: &Principal,
    client: &str,
    id: i64,
    new: &str,
) -> AppResult<()> {
    let u = managed_user(db, actor, id).await?;
    if u.id == actor.user_id {
        return Err(AppError::Forbidden);
    }
    let pw = NewPassword::parse("password", new)?;
    let hash = hash_password(pw.expose()).await?;
    let mut tx = db.begin().await?;
    store::set_password(&mut tx, id, &hash, true, now_ms()).await?;
    store::delete_user_sessions(&mut tx, id).await?;
    yidu_audit::record(
        &mut tx,
        &Actor::new(actor, client),
        user_entry("user.password_reset", &u),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_disabled(
    db: &Db,
    actor: &Principal,
    client: &str,
    id: i64,
    disabled: bool,
) -> AppResult<User> {
    let u = managed_user(db, actor, id).await?;
    if u.id == actor.user_id {
        return Err(AppError::conflict(
            "不能停用自己的账号",
            "You cannot disable your own account",
        ));
    }
    let mut tx = db.begin().await?;
    store::set_disabled(&mut tx, id, disabled, now_ms()).await?;
    if disabled {
        store::delete_user_sessions(&mut tx, id).await?;
    }
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    yidu_audit::record(&mut tx, &Actor::new(actor, client), user_entry(action, &u)).await?;
    let u = store::user_by_id(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?
        .user;
    tx.commit().await?;
    Ok(u)
}

pub async fn rename(
    db: &Db,
    actor: &Principal,
    client: &str,
    id: i64,
    display_name: &str,
) -> AppResult<User> {
    let u = managed_user(db, actor, id).await?;
    let name = parse_display_name(display_name)?;
    let mut tx = db.begin().await?;
    store::update_display_name(&mut tx, id, &name, now_ms()).await?;
    yidu_audit::record(
        &mut tx,
        &Actor::new(actor, client),
        user_entry("user.update", &u).changes(
            &serde_json::json!({"display_name": u.display_name}),
            &serde_json::json!({"display_name": name}),
        ),
    )
    .await?;
    let u = store::user_by_id(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?
        .user;
    tx.commit().await?;
    Ok(u)
}

/// Finds a user id by username (for the CLI).
pub async fn user_id_by_name(db: &Db, username: &str) -> AppResult<i64> {
    store::user_by_name(db, &username.trim().to_ascii_lowercase())
        .await?
        .map(|r| r.user.id)
        .ok_or(AppError::NotFound)
}
