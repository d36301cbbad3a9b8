//! Bulk import and export of user accounts as .xlsx, in the registry's spreadsheet
//! format (same sheet reader and writer, same name resolution). A user's scope is
//! written by name — a region, station, deputy, unit or committee — never by id, so a
//! file exported from one yidu imports into another.
//!
//! An import is all or nothing: every row is checked with the same rules as
//! `service::create_user` (and the actor's right to create that role in that scope),
//! every problem is reported by row and column, and only a clean file is written, in one
//! transaction with one audit record per user. Empty password cells get a strong random
//! password, returned once in the report and never logged.

use crate::model::{parse_display_name, NewPassword, User, Username};
use crate::service::{self, CheckedUser};
use crate::store;
use rand::Rng;
use std::collections::{HashMap, HashSet};
use yidu_db::Db;
use yidu_kernel::{AppError, AppResult, FieldError, PageQuery, Principal, Role};
use yidu_registry::model::Station;
use yidu_registry::scope::ScopeRegion;
use yidu_registry::service::{
    deputies::{self, DeputyFilter},
    regions::{self, RegionFilter},
    stations::{self, StationFilter},
    units::{self, UnitFilter},
};
use yidu_registry::xlsx::refs::{split_path, Key, Miss, RegionIndex, StationIndex};
use yidu_registry::xlsx::sheet::{self, Column};

const USERNAME: &str = "用户名";
const NAME: &str = "姓名";
const ROLE: &str = "角色";
const SCOPE: &str = "所属范围";
const PASSWORD: &str = "初始密码";

pub const COLUMNS: &[Column] = &[
    Column {
        header: USERNAME,
        header_en: "Username",
        required: true,
        hint_zh: "登录名：3-32 位小写字母、数字或 . _ -，不能与已有用户重复",
        hint_en: "login name: 3-32 lowercase letters, digits, '.', '_' or '-'; must be new",
        text: true,
    },
    Column {
        header: NAME,
        header_en: "Name",
        required: true,
        hint_zh: "用户的姓名",
        hint_en: "the user's name",
        text: false,
    },
    Column {
        header: ROLE,
        header_en: "Role",
        required: true,
        hint_zh: "人大办工作人员、乡镇（街道）人大工作人员、联络站工作人员、人大代表、承办单位经办人 或 工委工作人员（也可写 office、township、station、deputy、department、committee）；系统管理员不能导入",
        hint_en: "office, township, station, deputy, department or committee (or the Chinese labels); administrators cannot be imported",
        text: false,
    },
    Column {
        header: SCOPE,
        header_en: "Scope",
        required: true,
        hint_zh: "按名称填写：人大办、乡镇人员写区域名称（重名时写“镇名/社区名”）；联络站人员写联络站名称；代表写代表姓名（重名时写“区域/姓名”）；承办单位经办人写单位名称；工委人员写工委名称",
        hint_en: "by name: a region for office and township staff (\"township/community\" where names repeat); a station; a deputy's name (\"region/name\" where names repeat); a unit; a committee",
        text: false,
    },
    Column {
        header: PASSWORD,
        header_en: "Initial password",
        required: false,
        hint_zh: "至少 8 位，含大写字母、小写字母、数字、符号中的至少三类；留空则自动生成强密码（导入后只显示一次）。用户首次登录须修改密码",
        hint_en: "at least 8 characters from three of: uppercase, lowercase, digits, symbols; leave empty to have a strong one generated (shown once after the import). Users must change it at first login",
        text: true,
    },
];

/// Largest file accepted.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// A password yidu generated for an imported user. Shown once; its Debug hides it so it
/// never reaches a log by accident.
#[derive(Clone)]
pub struct GeneratedPassword {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for GeneratedPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GeneratedPassword({}, ***)", self.username)
    }
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct UsersImportReport {
    /// Data rows in the file (all created: an import is all or nothing).
    pub rows: u32,
    /// Usernames created, in file order.
    pub created: Vec<String>,
    /// The passwords yidu generated for rows whose password cell was empty.
    pub generated: Vec<GeneratedPassword>,
}

/// The empty file to fill in, with an instructions sheet.
pub fn template() -> AppResult<Vec<u8>> {
    sheet::write("用户", COLUMNS, &[], true).map_err(AppError::internal)
}

/// Who may import and export users: those who may create users at all.
fn may_transfer(actor: &Principal) -> bool {
    matches!(actor.role, Role::Admin | Role::Office | Role::Township)
}

/// A role as written in the sheet: its snake name, Chinese label or English label.
/// Brackets may be full- or half-width or left out ("乡镇(街道)人大工作人员").
fn parse_role_cell(s: &str) -> Option<Role> {
    let norm = |t: &str| -> String {
        t.chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '（' | '）' | '(' | ')'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let want = norm(s);
    Role::ALL
        .into_iter()
        .find(|r| want == r.as_str() || want == norm(r.label_zh()) || want == norm(r.label_en()))
}

/// A registry object a user can be bound to, with its name path for resolution.
struct Named {
    id: i64,
    /// Region names from the top down, then the object's own name.
    names: Vec<String>,
    scope: ScopeRegion,
}

fn named(
    id: i64,
    name: &str,
    region: &yidu_registry::model::RegionRef,
    retired: bool,
) -> Option<Named> {
    let mut names = split_path(&region.full_name);
    names.push(name.trim().to_string());
    (!retired).then(|| Named {
        id,
        names,
        scope: ScopeRegion {
            region_id: region.id,
            path: region.path.clone(),
            district_id: region.district_id,
        },
    })
}

/// A deputy, unit or committee by its name, or "region/name" where names repeat.
fn resolve_named<'a>(
    items: &'a [Named],
    written: &str,
    what: (&str, &str),
) -> Result<&'a Named, Miss> {
    let want = split_path(written);
    let found: Vec<&Named> = items.iter().filter(|n| n.names.ends_with(&want)).collect();
    match found.len() {
        1 => Ok(found[0]),
        0 => Err((
            format!("找不到{}“{written}”（或不在您的范围内）", what.0),
            format!("no {} \"{written}\" (or it is outside your scope)", what.1),
        )),
        n => Err((
            format!("有 {n} 个{}都叫“{written}”，请写成“区域/名称”", what.0),
            format!(
                "{n} {}s are called \"{written}\"; write \"region/name\"",
                what.1
            ),
        )),
    }
}

/// Reads that the actor is not allowed to make count as "nothing there".
fn or_empty<T>(r: AppResult<Vec<T>>) -> AppResult<Vec<T>> {
    match r {
        Err(AppError::Forbidden) | Err(AppError::NotFound) => Ok(Vec::new()),
        other => other,
    }
}

/// What scope names can refer to, read with the actor's own scope.
#[derive(Default)]
struct Catalog {
    regions: Vec<yidu_registry::model::Region>,
    stations: Vec<Station>,
    deputies: Vec<Named>,
    units: Vec<Named>,
    committees: Vec<Named>,
}

impl Catalog {
    /// Loads only what the given roles refer to. `with_retired` for exports (a retired
    /// station's staff still have a scope to name).
    async fn load(
        db: &Db,
        p: &Principal,
        roles: &HashSet<Role>,
        with_retired: bool,
    ) -> AppResult<Catalog> {
        let mut c = Catalog::default();
        if roles.contains(&Role::Office) || roles.contains(&Role::Township) {
            c.regions = or_empty(regions::all(db, p, &RegionFilter::default()).await)?;
        }
        if roles.contains(&Role::Station) {
            let f = StationFilter {
                include_retired: with_retired,
                ..Default::default()
            };
            c.stations = or_empty(stations::all(db, p, &f).await)?;
        }
        if roles.contains(&Role::Deputy) {
            let f = DeputyFilter {
                include_retired: with_retired,
                ..Default::default()
            };
            c.deputies = or_empty(deputies::all(db, p, &f).await)?
                .iter()
                .filter_map(|d| named(d.id, &d.name, &d.region, d.retired && !with_retired))
                .collect();
        }
        if roles.contains(&Role::Department) {
            let f = UnitFilter {
                include_retired: with_retired,
                ..Default::default()
            };
            c.units = or_empty(units::all(db, p, &f).await)?
                .iter()
                .filter_map(|u| named(u.id, &u.name, &u.region, u.retired && !with_retired))
                .collect();
        }
        if roles.contains(&Role::Committee) {
            let f = UnitFilter {
                include_retired: with_retired,
                ..Default::default()
            };
            let mut page = 1;
            loop {
                let q = PageQuery {
                    page: Some(page),
                    per_page: Some(500),
                };
                let got = match units::list_committees(db, p, &f, &q).await {
                    Ok(pg) => pg.items,
                    Err(AppError::Forbidden) | Err(AppError::NotFound) => Vec::new(),
                    Err(e) => return Err(e),
                };
                let done = got.len() < 500;
                c.committees.extend(
                    got.iter().filter_map(|x| {
                        named(x.id, &x.name, &x.region, x.retired && !with_retired)
                    }),
                );
                if done {
                    break;
                }
                page += 1;
            }
        }
        Ok(c)
    }

    /// The scope a row names for a role: (scope id, where it sits).
    fn resolve(&self, role: Role, written: &str) -> Result<(i64, ScopeRegion), Miss> {
        if split_path(written).is_empty() {
            return Err(("须填写所属范围".into(), "a scope is required".into()));
        }
        match role {
            Role::Office | Role::Township => {
                let index = RegionIndex::new(&self.regions);
                let e = index.resolve(written)?;
                let Key::Existing(id) = e.key else {
                    return Err(("区域不存在".into(), "no such region".into()));
                };
                let r = self.regions.iter().find(|r| r.id == id).expect("indexed");
                Ok((
                    id,
                    ScopeRegion {
                        region_id: r.id,
                        path: r.path.clone(),
                        district_id: r.district_id,
                    },
                ))
            }
            Role::Station => {
                let id = StationIndex {
                    stations: &self.stations,
                }
                .resolve(written)?;
                let s = self.stations.iter().find(|s| s.id == id).expect("indexed");
                Ok((
                    id,
                    ScopeRegion {
                        region_id: s.region.id,
                        path: s.region.path.clone(),
                        district_id: s.region.district_id,
                    },
                ))
            }
            Role::Deputy => resolve_named(&self.deputies, written, ("代表", "deputy"))
                .map(|n| (n.id, n.scope.clone())),
            Role::Department => resolve_named(&self.units, written, ("承办单位", "unit"))
                .map(|n| (n.id, n.scope.clone())),
            Role::Committee => resolve_named(&self.committees, written, ("工委", "committee"))
                .map(|n| (n.id, n.scope.clone())),
            Role::Admin => Err((
                "管理员不绑定范围".into(),
                "an administrator has no scope".into(),
            )),
        }
    }

    /// How an export writes a user's scope: the plain name where it is unique among
    /// what the exporter sees, else with its region path, so it imports back.
    fn written(&self, role: Role, id: i64) -> String {
        fn pick(items: &[Named], id: i64) -> String {
            let Some(n) = items.iter().find(|n| n.id == id) else {
                return String::new();
            };
            let name = n.names.last().cloned().unwrap_or_default();
            if items
                .iter()
                .filter(|m| m.names.last() == Some(&name))
                .count()
                > 1
            {
                n.names.join("/")
            } else {
                name
            }
        }
        match role {
            Role::Office | Role::Township => self
                .regions
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.full_name.clone())
                .unwrap_or_default(),
            Role::Station => {
                let Some(s) = self.stations.iter().find(|s| s.id == id) else {
                    return String::new();
                };
                if self.stations.iter().filter(|o| o.name == s.name).count() > 1 {
                    format!("{}/{}", s.region.full_name, s.name)
                } else {
                    s.name.clone()
                }
            }
            Role::Deputy => pick(&self.deputies, id),
            Role::Department => pick(&self.units, id),
            Role::Committee => pick(&self.committees, id),
            Role::Admin => String::new(),
        }
    }
}

/// A strong random initial password: 16 characters in groups of four, no look-alike
/// characters, always with upper- and lowercase letters and digits.
fn generate_password() -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    let mut rng = rand::thread_rng();
    loop {
        let all: Vec<u8> = [UPPER, LOWER, DIGIT].concat();
        let chars: Vec<char> = (0..16)
            .map(|_| all[rng.gen_range(0..all.len())] as char)
            .collect();
        let has = |set: &[u8]| chars.iter().any(|c| set.contains(&(*c as u8)));
        if has(UPPER) && has(LOWER) && has(DIGIT) {
            return chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-");
        }
    }
}

/// One row that passed every check.
struct GoodRow {
    row: u32,
    user: CheckedUser,
    /// The password to hash; `generated` when yidu made it.
    password: String,
    generated: bool,
}

/// Imports users from an .xlsx file: all rows or none.
pub async fn import(
    db: &Db,
    actor: &Principal,
    client: &str,
    bytes: &[u8],
) -> AppResult<UsersImportReport> {
    if !may_transfer(actor) {
        return Err(AppError::Forbidden);
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(AppError::field(
            "文件",
            "文件超过 10 MB",
            "the file is larger than 10 MB",
        ));
    }
    let table = sheet::read(bytes, COLUMNS)?;
    if table.rows.is_empty() {
        return Err(AppError::field(
            "文件",
            "表格中没有数据行",
            "the sheet has no data rows",
        ));
    }
    let roles: HashSet<Role> = table
        .rows
        .iter()
        .filter_map(|(_, c)| parse_role_cell(&c[2]))
        .collect();
    let catalog = Catalog::load(db, actor, &roles, false).await?;

    let mut problems: Vec<FieldError> = Vec::new();
    let mut push = |row: u32, col: &str, zh: String, en: String| {
        problems.push(FieldError::new(col, zh, en).at_row(row));
    };
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut good: Vec<GoodRow> = Vec::new();
    for (row, c) in &table.rows {
        let row = *row;
        let mut bad = false;
        let mut fail = |col: &str, zh: String, en: String| {
            bad = true;
            push(row, col, zh, en);
        };
        let username = match Username::parse(&c[0]) {
            Ok(u) => {
                if let Some(first) = seen.get(u.as_str()) {
                    fail(
                        USERNAME,
                        format!("与第 {first} 行的用户名重复"),
                        format!("same username as row {first}"),
                    );
                } else {
                    seen.insert(u.as_str().to_string(), row);
                    if store::user_by_name(db, u.as_str()).await?.is_some() {
                        fail(
                            USERNAME,
                            "用户名已被使用".into(),
                            "username is taken".into(),
                        );
                    }
                }
                Some(u)
            }
            Err(e) => {
                for d in e.details() {
                    fail(USERNAME, d.zh.clone(), d.en.clone());
                }
                None
            }
        };
        let display = match parse_display_name(&c[1]) {
            Ok(n) => Some(n),
            Err(e) => {
                for d in e.details() {
                    fail(NAME, d.zh.clone(), d.en.clone());
                }
                None
            }
        };
        let role = match parse_role_cell(&c[2]) {
            Some(Role::Admin) => {
                fail(
                    ROLE,
                    "不能通过导入创建系统管理员".into(),
                    "administrators cannot be imported".into(),
                );
                None
            }
            Some(r) => Some(r),
            None if c[2].is_empty() => {
                fail(ROLE, "须填写角色".into(), "a role is required".into());
                None
            }
            None => {
                fail(
                    ROLE,
                    format!("无法识别的角色“{}”，应为人大办工作人员、乡镇（街道）人大工作人员、联络站工作人员、人大代表、承办单位经办人或工委工作人员", c[2]),
                    format!("unknown role \"{}\"; one of office, township, station, deputy, department, committee", c[2]),
                );
                None
            }
        };
        let scope = match role {
            Some(role) => match catalog.resolve(role, &c[3]) {
                Ok((id, s)) => {
                    if !service::may_manage(actor, role, &s.path) {
                        fail(
                            ROLE,
                            format!("您无权在“{}”创建{}账号", c[3], role.label_zh()),
                            format!(
                                "you may not create {} accounts in \"{}\"",
                                role.label_en(),
                                c[3]
                            ),
                        );
                    }
                    Some((id, s))
                }
                Err((zh, en)) => {
                    fail(SCOPE, zh, en);
                    None
                }
            },
            None => None,
        };
        let (password, generated) = if c[4].is_empty() {
            (generate_password(), true)
        } else {
            match NewPassword::parse("password", &c[4]) {
                Ok(p) => (p.expose().to_string(), false),
                Err(e) => {
                    for d in e.details() {
                        fail(PASSWORD, d.zh.clone(), d.en.clone());
                    }
                    (String::new(), false)
                }
            }
        };
        if let (false, Some(username), Some(display_name), Some(role), Some((scope_id, scope))) =
            (bad, username, display, role, scope)
        {
            good.push(GoodRow {
                row,
                user: CheckedUser {
                    username,
                    display_name,
                    role,
                    scope_id: Some(scope_id),
                    scope: Some(scope),
                    password_hash: String::new(),
                },
                password,
                generated,
            });
        }
    }
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    // Argon2 is slow on purpose: hash before the write transaction starts, so the
    // database's writer is held only for the inserts.
    for g in &mut good {
        g.user.password_hash = service::hash_password(&g.password).await?;
    }
    let mut tx = db.begin().await?;
    let mut created: Vec<User> = Vec::with_capacity(good.len());
    for g in &good {
        match service::insert_checked(&mut tx, actor, client, &g.user, true).await {
            Ok(u) => created.push(u),
            // Someone took the name since the check: report it like any other problem.
            Err(AppError::Validation(v)) => {
                return Err(AppError::Validation(
                    v.into_iter()
                        .map(|d| FieldError::new(USERNAME, d.zh, d.en).at_row(g.row))
                        .collect(),
                ))
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit().await?;
    Ok(UsersImportReport {
        rows: table.rows.len() as u32,
        created: created.iter().map(|u| u.username.clone()).collect(),
        generated: good
            .iter()
            .filter(|g| g.generated)
            .map(|g| GeneratedPassword {
                username: g.user.username.as_str().to_string(),
                password: g.password.clone(),
            })
            .collect(),
    })
}

/// The users in the actor's scope (administrators left out: they cannot be imported),
/// in the import format without passwords.
pub async fn export(db: &Db, actor: &Principal) -> AppResult<Vec<u8>> {
    if !may_transfer(actor) {
        return Err(AppError::Forbidden);
    }
    let (users, _) = store::list_users(db, &actor.scope_like(), 1_000_000, 0).await?;
    let users: Vec<User> = users
        .into_iter()
        .filter(|u| u.role != Role::Admin && service::may_manage(actor, u.role, &u.scope_path))
        .collect();
    let roles: HashSet<Role> = users.iter().map(|u| u.role).collect();
    let catalog = Catalog::load(db, actor, &roles, true).await?;
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                u.username.clone(),
                u.display_name.clone(),
                u.role.label_zh().to_string(),
                u.scope_id
                    .map(|id| catalog.written(u.role, id))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    // Passwords never leave yidu: the export stops before the password column, and a
    // re-import generates new ones.
    sheet::write("用户", &COLUMNS[..4], &rows, false).map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_any_name() {
        assert_eq!(parse_role_cell("人大代表"), Some(Role::Deputy));
        assert_eq!(
            parse_role_cell("乡镇（街道）人大工作人员"),
            Some(Role::Township)
        );
        assert_eq!(
            parse_role_cell("乡镇(街道)人大工作人员"),
            Some(Role::Township)
        );
        assert_eq!(parse_role_cell(" Office "), Some(Role::Office));
        assert_eq!(
            parse_role_cell("Department handler"),
            Some(Role::Department)
        );
        assert_eq!(parse_role_cell("皇帝"), None);
    }

    #[test]
    fn generated_passwords_meet_the_policy() {
        for _ in 0..50 {
            let p = generate_password();
            assert_eq!(p.len(), 19);
            assert!(NewPassword::parse("p", &p).is_ok(), "{p}");
        }
    }
}
