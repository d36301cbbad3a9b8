//! 工作端 pages of the class-case room: the list of classes and one class with its members
//! and a form for each decision the user may make. Forms post with the CSRF token and work
//! without JavaScript; decisions redirect back with a flash, class-wide moves show what
//! they did to each member.

use crate::model::{
    ClassDetail, ClassStatus, ClassSummary, FanOut, MergeInput, ReplyInput, SplitInput,
    SuperviseInput,
};
use crate::service::read::{self, ClassFilter};
use crate::service::{access, cluster, decide, supervise, Classes};
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use yidu_kernel::clock::format_china;
use yidu_kernel::{PageQuery, Role};
use yidu_web::form::PageForm;
use yidu_web::{AppState, PageResult, PageUser, RequestMeta, Shell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/classes", get(list_page))
        .route("/staff/classes/rebuild", post(rebuild))
        .route("/staff/classes/{id}", get(detail_page))
        .route("/staff/classes/{id}/{action}", post(decide_form))
}

fn flash_of(shell: Shell, flash: &str) -> Shell {
    let msg = match flash {
        "rebuilt" => Some(("已重新归类", "Regrouped")),
        "confirm" => Some(("已确认", "Confirmed")),
        "rename" => Some(("已改名", "Renamed")),
        "merge" => Some(("已合并", "Merged")),
        "split" => Some(("已拆分为新类案", "Split into a new class")),
        "remove" => Some(("已移出", "Removed from the class")),
        "dissolve" => Some(("已撤销", "Dissolved")),
        _ => None,
    };
    match msg {
        Some((zh, en)) => shell.with_flash(true, zh, en),
        None => shell,
    }
}

fn date(ms: Option<i64>) -> String {
    ms.map(format_china)
        .map(|s| s.chars().take(10).collect())
        .unwrap_or_default()
}

fn status_label(s: ClassStatus, shell: &Shell) -> String {
    shell.t(s.label_zh(), s.label_en()).to_string()
}

/// One line of the list, ready to show.
pub struct Row {
    pub id: i64,
    pub label: String,
    pub status: String,
    pub size: i64,
    pub growth: String,
    pub recent: i64,
    pub same_asks: i64,
    pub span: String,
    pub places: String,
    pub reps: Vec<(i64, String)>,
    pub lead: String,
}

fn row_of(s: &ClassSummary, shell: &Shell) -> Row {
    Row {
        id: s.id,
        label: s.label.clone(),
        status: status_label(s.status, shell),
        size: s.size,
        growth: if s.growth > 0 {
            format!("+{}", s.growth)
        } else {
            s.growth.to_string()
        },
        recent: s.recent,
        same_asks: s.same_asks,
        span: format!("{} – {}", date(s.first_at), date(s.last_at)),
        places: s
            .places
            .iter()
            .take(4)
            .map(|p| format!("{}（{}）", p.name, p.items))
            .collect::<Vec<_>>()
            .join("、"),
        reps: s
            .representatives
            .iter()
            .map(|b| (b.id, b.title.clone()))
            .collect(),
        lead: s.lead_unit.clone().unwrap_or_default(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListForm {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub flash: String,
}

#[derive(Template)]
#[template(path = "classes_list.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<Row>,
    status: String,
    can_rebuild: bool,
    total: i64,
    page: u32,
    pages: u32,
    prev_href: Option<String>,
    next_href: Option<String>,
}

async fn list_page(
    Extension(c): Extension<Classes>,
    meta: RequestMeta,
    user: PageUser,
    Query(form): Query<ListForm>,
) -> PageResult {
    let p = &user.principal;
    let q = PageQuery {
        page: form.page.parse().ok(),
        per_page: Some(30),
    };
    let f = ClassFilter {
        status: Some(form.status.clone()).filter(|s| !s.is_empty()),
    };
    let page = read::list(&c, p, &f, &q).await?;
    let shell = flash_of(
        Shell::for_user(&meta, &user, meta.lang.pick("类案", "Class cases")),
        &form.flash,
    );
    let pages = page.pages();
    let href = |n: u32| {
        let mut pairs = vec![("page", n.to_string())];
        if !form.status.is_empty() {
            pairs.push(("status", form.status.clone()));
        }
        format!(
            "/staff/classes?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    };
    let body = ListPage {
        rows: page.items.iter().map(|s| row_of(s, &shell)).collect(),
        status: form.status.clone(),
        can_rebuild: matches!(p.role, Role::Admin | Role::Office),
        total: page.total,
        page: page.page,
        pages,
        prev_href: (page.page > 1).then(|| href(page.page - 1)),
        next_href: (page.page < pages).then(|| href(page.page + 1)),
        shell,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(Html(body).into_response())
}

async fn rebuild(
    Extension(c): Extension<Classes>,
    meta: RequestMeta,
    user: PageUser,
) -> PageResult {
    cluster::rebuild_as(&c, &user.principal, &meta.client, None).await?;
    Ok(Redirect::to("/staff/classes?flash=rebuilt").into_response())
}

/// A member line of the detail page.
pub struct MemberLine {
    pub id: i64,
    pub tracking_no: String,
    pub title: String,
    pub status: String,
    pub citizen: String,
    pub created: String,
    pub pinned: bool,
}

#[derive(Template)]
#[template(path = "class_detail.html")]
struct DetailPage {
    shell: Shell,
    d: ClassDetail,
    row: Row,
    members: Vec<MemberLine>,
    can_decide: bool,
    can_reply: bool,
    live: bool,
    /// (id, name, selected)
    units: Vec<(i64, String, bool)>,
    targets: Vec<(i64, String)>,
    deadline: String,
    fanout: Option<FanOut>,
}

async fn render_detail(
    c: &Classes,
    meta: &RequestMeta,
    user: &PageUser,
    id: i64,
    flash: &str,
    fanout: Option<FanOut>,
) -> PageResult {
    let p = &user.principal;
    let d = read::get(c, p, id).await?;
    let shell = flash_of(
        Shell::for_user(meta, user, meta.lang.pick("类案", "Class case")),
        flash,
    );
    let mut conn = c.db().pool().acquire().await.map_err(anyhow::Error::from)?;
    let class_row = crate::store::class(&mut conn, id)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or(yidu_kernel::AppError::NotFound)?;
    drop(conn);
    let can_decide = access::may_decide(p, &class_row);
    let can_reply = access::may_reply(p, &class_row) && class_row.reply_state != "none";
    let live = class_row.status != ClassStatus::Dissolved;
    let units = if can_decide {
        yidu_registry::service::units::all(c.db(), p, &Default::default())
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|u| !u.retired)
            .map(|u| (u.id, u.name, Some(u.id) == class_row.lead_unit_id))
            .collect()
    } else {
        Vec::new()
    };
    let targets = if can_decide && live {
        read::list(
            c,
            p,
            &ClassFilter::default(),
            &PageQuery {
                page: Some(1),
                per_page: Some(200),
            },
        )
        .await?
        .items
        .into_iter()
        .filter(|s| s.id != id && s.district_id == d.class.district_id)
        .map(|s| (s.id, format!("#{} {}（{}）", s.id, s.label, s.size)))
        .collect()
    } else {
        Vec::new()
    };
    let members = d
        .members
        .iter()
        .filter_map(|m| {
            let o = m.opinion.as_ref()?;
            Some(MemberLine {
                id: o.id,
                tracking_no: o.tracking_no.clone(),
                title: o.title.clone(),
                status: shell
                    .t(o.status.label_zh(), o.status.label_en())
                    .to_string(),
                citizen: o.citizen_name.clone().unwrap_or_default(),
                created: format_china(o.created_at),
                pinned: m.pinned,
            })
        })
        .collect();
    let body = DetailPage {
        row: row_of(&d.class, &shell),
        deadline: d.class.deadline_at.map(format_china).unwrap_or_default(),
        d,
        members,
        can_decide,
        can_reply,
        live,
        units,
        targets,
        fanout,
        shell,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(Html(body).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    #[serde(default)]
    pub flash: String,
}

async fn detail_page(
    Extension(c): Extension<Classes>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
) -> PageResult {
    render_detail(&c, &meta, &user, id, &q.flash, None).await
}

fn id_of(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

/// Every decision form posts here with its action in the path.
async fn decide_form(
    Extension(c): Extension<Classes>,
    meta: RequestMeta,
    user: PageUser,
    Path((id, action)): Path<(i64, String)>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let p = &user.principal;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let client = meta.client.clone();
    let back = |to: i64, flash: &str| {
        Ok(Redirect::to(&format!("/staff/classes/{to}?flash={flash}")).into_response())
    };
    match action.as_str() {
        "confirm" => {
            decide::confirm(&c, p, &client, id).await?;
            back(id, "confirm")
        }
        "rename" => {
            decide::rename(&c, p, &client, id, &get("label")).await?;
            back(id, "rename")
        }
        "merge" => {
            let into = decide::merge(
                &c,
                p,
                &client,
                id,
                &MergeInput {
                    into_id: id_of(&get("into_id")),
                },
            )
            .await?;
            back(into, "merge")
        }
        "split" => {
            let input = SplitInput {
                item_ids: pairs
                    .iter()
                    .filter(|(k, _)| k == "item_ids")
                    .filter_map(|(_, v)| id_of(v))
                    .collect(),
                label: get("label"),
            };
            let new_id = decide::split(&c, p, &client, id, &input).await?;
            back(new_id, "split")
        }
        "remove" => {
            let item = id_of(&get("item_id")).ok_or(yidu_kernel::AppError::field(
                "item_id",
                "请选择要移出的事项",
                "choose the item to remove",
            ))?;
            decide::remove_member(&c, p, &client, id, item).await?;
            back(id, "remove")
        }
        "dissolve" => {
            decide::dissolve(&c, p, &client, id).await?;
            back(id, "dissolve")
        }
        "supervise" => {
            let input = SuperviseInput {
                lead_unit_id: id_of(&get("lead_unit_id")),
                days: get("days").parse().ok(),
                note: get("note"),
            };
            let out = supervise::supervise(&c, p, &client, id, &input).await?;
            render_detail(&c, &meta, &user, id, "", Some(out)).await
        }
        "reply" => {
            let out =
                supervise::reply(&c, p, &client, id, &ReplyInput { text: get("text") }).await?;
            render_detail(&c, &meta, &user, id, "", Some(out)).await
        }
        _ => Err(yidu_kernel::AppError::NotFound.into()),
    }
}
