//! Handling pages of the opinions room: the queue with the daily digest, filters and bulk
//! assignment; the detail with the timeline and a form for each move the user may make
//! now; the inbox. Staff see them under /staff (desktop), deputies under /deputy (phone
//! first). Forms post with the CSRF token and the server redirects with a flash.

use crate::api::handling::{move_input_of, read_move_form, REPLY_UPLOAD_LIMIT};
use crate::model::attachment::NamedUpload;
use crate::model::{MoveInput, MoveKind, Opinion, TimelineEvent};
use crate::service::handling::{self, BulkAssign, Digest, InboxItem, Names};
use crate::service::moves;
use crate::service::read::{self, QueueFilter};
use crate::Opinions;
use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use yidu_kernel::clock::format_china;
use yidu_kernel::{AppError, PageQuery, Role};
use yidu_web::form::PageForm;
use yidu_web::{AppState, PageResult, PageUser, RequestMeta, Shell};

pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    for base in ["/staff", "/deputy"] {
        r = r
            .route(&format!("{base}/opinions"), get(queue_page))
            .route(&format!("{base}/opinions/export.xlsx"), get(export))
            .route(&format!("{base}/opinions/bulk-assign"), post(bulk_assign))
            .route(&format!("{base}/opinions/{{id}}"), get(detail_page))
            .route(&format!("{base}/opinions/{{id}}/moves"), post(make_move))
            .route(
                &format!("{base}/opinions/{{id}}/moves/files"),
                post(make_move_files).layer(DefaultBodyLimit::max(REPLY_UPLOAD_LIMIT)),
            )
            .route(
                &format!("{base}/opinions/{{id}}/attachments/{{file_id}}"),
                get(attachment),
            )
            .route(
                &format!("{base}/opinions/{{id}}/photos/{{file_id}}"),
                get(photo),
            )
            .route(&format!("{base}/inbox"), get(inbox_page))
            .route(&format!("{base}/inbox/{{id}}/read"), post(read_notice));
    }
    r
}

fn base(user: &PageUser) -> &'static str {
    if user.principal.role == Role::Deputy {
        "/deputy"
    } else {
        "/staff"
    }
}

fn render(t: impl Template, status: StatusCode) -> PageResult {
    let body = t.render().map_err(anyhow::Error::from)?;
    Ok((status, Html(body)).into_response())
}

fn flash_of(shell: Shell, flash: Option<&str>) -> Shell {
    let msg = match flash {
        Some("moved") => Some(("已办理", "Done")),
        Some("assigned") => Some(("已批量交办", "Assigned")),
        Some("read") => Some(("已读", "Marked read")),
        _ => None,
    };
    match msg {
        Some((zh, en)) => shell.with_flash(true, zh, en),
        None => shell,
    }
}

/// The queue's filters as a page sends them (empty fields mean "any").
#[derive(Debug, Default, Clone, Deserialize)]
pub struct QueueForm {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub region_id: String,
    #[serde(default)]
    pub station_id: String,
    #[serde(default)]
    pub deputy_id: String,
    #[serde(default)]
    pub unit_id: String,
    #[serde(default)]
    pub category_id: String,
    #[serde(default)]
    pub overdue: String,
    /// Full-text search words.
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub flash: String,
}

fn id_of(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

impl QueueForm {
    fn filter(&self) -> QueueFilter {
        QueueFilter {
            status: Some(self.status.clone()).filter(|s| !s.is_empty()),
            region_id: id_of(&self.region_id),
            station_id: id_of(&self.station_id),
            deputy_id: id_of(&self.deputy_id),
            unit_id: id_of(&self.unit_id),
            category_id: id_of(&self.category_id),
            overdue: matches!(self.overdue.as_str(), "1" | "true" | "on").then_some(true),
            q: Some(self.q.trim().to_string()).filter(|q| !q.is_empty()),
        }
    }
    fn query(&self, page: Option<u32>) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("status", self.status.clone()),
            ("region_id", self.region_id.clone()),
            ("station_id", self.station_id.clone()),
            ("deputy_id", self.deputy_id.clone()),
            ("unit_id", self.unit_id.clone()),
            ("category_id", self.category_id.clone()),
            ("overdue", self.overdue.clone()),
            ("q", self.q.trim().to_string()),
        ];
        pairs.retain(|(_, v)| !v.is_empty());
        if let Some(p) = page {
            pairs.push(("page", p.to_string()));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(items: &[(i64, String)], current: &str) -> Vec<Choice> {
    items
        .iter()
        .map(|(id, label)| Choice {
            value: id.to_string(),
            label: label.clone(),
            selected: id.to_string() == current,
        })
        .collect()
}

/// One line of the queue, ready to show.
pub struct QueueRow {
    pub id: i64,
    pub tracking_no: String,
    pub title: String,
    pub status_zh: &'static str,
    pub status_en: &'static str,
    pub urgency: String,
    pub category: String,
    pub region: String,
    pub station: String,
    pub deputy: String,
    pub unit: String,
    pub created: String,
    pub deadline: String,
    /// 同问 count.
    pub metoo: i64,
}

fn row_of(o: &Opinion, n: &Names) -> QueueRow {
    QueueRow {
        id: o.id,
        tracking_no: o.tracking_no.clone(),
        title: o.title.clone(),
        status_zh: o.status.label_zh(),
        status_en: o.status.label_en(),
        urgency: o.urgency.clone(),
        category: o.category.clone().unwrap_or_default(),
        region: n.region(o.region_id),
        station: n.station(o.station_id),
        deputy: n.deputy(o.deputy_id),
        unit: n.unit(o.unit_id),
        created: format_china(o.created_at),
        deadline: o.deadline_at.map(format_china).unwrap_or_default(),
        metoo: o.metoo,
    }
}

#[derive(Template)]
#[template(path = "handling_queue.html")]
struct QueuePage {
    shell: Shell,
    base: &'static str,
    deputy_face: bool,
    /// Said when a year's holiday notice is missing although deadlines need it soon.
    holiday_warning: Option<String>,
    digest: Digest,
    rows: Vec<QueueRow>,
    form: QueueForm,
    statuses: Vec<Choice>,
    regions: Vec<Choice>,
    stations: Vec<Choice>,
    deputies: Vec<Choice>,
    units: Vec<Choice>,
    categories: Vec<Choice>,
    bulk_units: Vec<Choice>,
    can_bulk: bool,
    export_href: String,
    /// "123", or "1000+" when a search matched more than it counts.
    total: String,
    page: u32,
    pages: u32,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// Deadlines reaching into a year without holiday data stay empty (never counted as plain
/// weekdays), so the people who watch deadlines are told, not left to wonder.
fn holiday_warning(o: &Opinions, lang: yidu_kernel::Lang) -> Option<String> {
    let now = yidu_kernel::clock::to_china(yidu_kernel::clock::now_ms());
    let year = o.calendar.missing_year(now)?;
    Some(match lang {
        yidu_kernel::Lang::Zh => format!(
            "尚未载入{year}年节假日安排：延伸到{year}年的办理期限暂时无法计算。\
             请系统管理员按国务院办公厅通知配置节假日文件（holidays_file）。"
        ),
        yidu_kernel::Lang::En => format!(
            "The {year} holiday schedule is not loaded: deadlines reaching into {year} cannot \
             be computed yet. An administrator should add the State Council notice as the \
             holiday file (holidays_file)."
        ),
    })
}

async fn queue_page(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    Query(form): Query<QueueForm>,
) -> PageResult {
    let p = &user.principal;
    let base = base(&user);
    let q = PageQuery {
        page: form.page.parse().ok(),
        per_page: Some(30),
    };
    let page = read::queue(&o, p, &form.filter(), &q).await?;
    let names = Names::load(&o, p).await?;
    let digest = handling::page_digest(&o, p).await?;
    let pages = page.pages();
    let shell = flash_of(
        Shell::for_user(&meta, &user, meta.lang.pick("民意办理", "Opinions")),
        Some(form.flash.as_str()),
    );
    let statuses = crate::model::Status::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str().to_string(),
            label: format!("{} {}", s.label_zh(), s.label_en()),
            selected: s.as_str() == form.status,
        })
        .collect();
    let regions: Vec<(i64, String)> = names
        .regions
        .iter()
        .map(|(id, _, full)| (*id, full.clone()))
        .collect();
    let can_bulk = matches!(
        p.role,
        Role::Admin | Role::Office | Role::Township | Role::Station | Role::Deputy
    ) && !names.units.is_empty();
    let path = format!("{base}/opinions");
    let page_no = page.page;
    QueuePage {
        base,
        deputy_face: base == "/deputy",
        holiday_warning: holiday_warning(&o, meta.lang),
        digest,
        rows: page.items.iter().map(|it| row_of(it, &names)).collect(),
        statuses,
        regions: choices(&regions, &form.region_id),
        stations: choices(&names.stations, &form.station_id),
        deputies: choices(&names.deputies, &form.deputy_id),
        units: choices(&names.units, &form.unit_id),
        categories: choices(&names.categories, &form.category_id),
        bulk_units: choices(&names.units, ""),
        can_bulk,
        export_href: format!("{path}/export.xlsx?{}", form.query(None)),
        total: if page.total_capped {
            format!("{}+", page.total)
        } else {
            page.total.to_string()
        },
        page: page_no,
        pages,
        prev_href: (page_no > 1).then(|| format!("{path}?{}", form.query(Some(page_no - 1)))),
        next_href: (page_no < pages).then(|| format!("{path}?{}", form.query(Some(page_no + 1)))),
        form,
        shell,
    }
    .render()
    .map_err(anyhow::Error::from)
    .map(|b| Html(b).into_response())
    .map_err(Into::into)
}

async fn export(
    Extension(o): Extension<Opinions>,
    user: PageUser,
    Query(form): Query<QueueForm>,
) -> PageResult {
    let bytes = handling::export_xlsx(&o, &user.principal, &form.filter()).await?;
    Ok(crate::api::handling::xlsx_response(bytes))
}

async fn photo(
    Extension(o): Extension<Opinions>,
    user: PageUser,
    Path((id, file_id)): Path<(i64, i64)>,
) -> PageResult {
    let (ct, bytes) = read::photo(&o, &user.principal, id, file_id).await?;
    Ok(crate::api::handling::photo_response(ct, bytes))
}

async fn attachment(
    Extension(o): Extension<Opinions>,
    user: PageUser,
    Path((id, file_id)): Path<(i64, i64)>,
) -> PageResult {
    let (ct, name, bytes) = read::attachment(&o, &user.principal, id, file_id).await?;
    Ok(crate::api::handling::download_response(ct, &name, bytes))
}

async fn bulk_assign(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let base = base(&user);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let input = BulkAssign {
        ids: pairs
            .iter()
            .filter(|(k, _)| k == "ids")
            .filter_map(|(_, v)| v.parse().ok())
            .collect(),
        unit_id: id_of(&get("unit_id")),
        note: get("note"),
    };
    let back = get("back");
    let back = if back.starts_with(&format!("{base}/opinions")) {
        back
    } else {
        format!("{base}/opinions")
    };
    let sep = if back.contains('?') { '&' } else { '?' };
    match handling::bulk_assign(&o, &user.principal, &meta.client, &input).await {
        Ok(out) if out.done => {
            Ok(Redirect::to(&format!("{back}{sep}flash=assigned")).into_response())
        }
        Ok(out) => {
            let why: Vec<String> = out
                .results
                .iter()
                .filter_map(|r| r.error_zh.as_ref().map(|e| format!("#{}：{e}", r.id)))
                .collect();
            Err(AppError::conflict(
                &format!("未交办任何事项：{}", why.join("；")),
                "Nothing was assigned: some items were refused",
            )
            .into())
        }
        Err(e) => Err(e.into()),
    }
}

/// A move form on the detail page.
pub struct MoveForm {
    pub action: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

fn move_form(k: MoveKind) -> MoveForm {
    let (zh, en) = match k {
        MoveKind::Accept => ("受理", "Accept"),
        MoveKind::AnswerOnSpot => ("当场答复", "Answer on the spot"),
        MoveKind::Assign => ("交办承办单位", "Assign to a unit"),
        MoveKind::Take => ("签收", "Take"),
        MoveKind::Return => ("退回", "Return"),
        MoveKind::Start => ("开始办理", "Start"),
        MoveKind::Reply => ("答复", "Reply"),
        MoveKind::Escalate => ("提级至区人大", "Escalate to the district"),
        MoveKind::Convert => ("转为代表建议或督办事项", "Convert"),
        MoveKind::Merge => ("合并为重复事项", "Merge as a duplicate"),
        MoveKind::Reject => ("不予受理", "Do not accept"),
        MoveKind::Close => ("办结", "Close"),
        MoveKind::Rate => ("评价", "Rate"),
    };
    MoveForm {
        action: k.as_str(),
        zh,
        en,
    }
}

#[derive(Template)]
#[template(path = "handling_detail.html")]
struct DetailPage {
    shell: Shell,
    base: &'static str,
    o: Opinion,
    row: QueueRow,
    timeline: Vec<TimelineEvent>,
    moves: Vec<MoveForm>,
    units: Vec<Choice>,
    categories: Vec<Choice>,
    assist: crate::assist::api::ItemAssist,
    /// The one-click merge into a similar item is offered when merging is a move now.
    can_merge: bool,
}

impl DetailPage {
    fn percent(x: &f32) -> String {
        format!("{:.0}%", x * 100.0)
    }
}

async fn detail(
    o: &Opinions,
    meta: &RequestMeta,
    user: &PageUser,
    id: i64,
    shell_flash: Option<(bool, String, String)>,
    flash: Option<&str>,
    status: StatusCode,
) -> PageResult {
    let p = &user.principal;
    let item = read::get(o, p, id).await?;
    let timeline = read::timeline(o, p, id).await?;
    let allowed = handling::allowed_moves(o, p, id).await?;
    let can_merge = allowed.contains(&MoveKind::Merge);
    let moves = allowed.into_iter().map(move_form).collect();
    let names = Names::load(o, p).await?;
    let mut shell = flash_of(Shell::for_user(meta, user, &item.tracking_no), flash);
    if let Some((ok, zh, en)) = shell_flash {
        shell = shell.with_flash(ok, &zh, &en);
    }
    let mut item = item;
    let assist = item.assist.take().unwrap_or_default();
    // A sure suggestion is pre-selected (the handler still decides); what the handler
    // finally chooses is stored on the item and is what the next training learns from.
    let current_cat = match (&item.category_id, &assist.suggestions.category) {
        (Some(c), _) => c.to_string(),
        (None, Some(s)) if s.preselect => s.id.to_string(),
        _ => String::new(),
    };
    let suggested_unit = match &assist.suggestions.unit {
        Some(s) if s.preselect => s.id.to_string(),
        _ => String::new(),
    };
    render(
        DetailPage {
            shell,
            base: base(user),
            row: row_of(&item, &names),
            timeline,
            moves,
            units: choices(&names.units, &suggested_unit),
            categories: choices(&names.categories, &current_cat),
            assist,
            can_merge,
            o: item,
        },
        status,
    )
}

#[derive(Debug, Default, Deserialize)]
struct FlashQuery {
    flash: Option<String>,
}

async fn detail_page(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    Query(fq): Query<FlashQuery>,
) -> PageResult {
    detail(
        &o,
        &meta,
        &user,
        id,
        None,
        fq.flash.as_deref(),
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
struct MoveFields {
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    unit_id: String,
    #[serde(default)]
    into_tracking_no: String,
    #[serde(default)]
    convert_to: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    category_id: String,
}

async fn make_move(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    PageForm(f): PageForm<MoveFields>,
) -> PageResult {
    let input = MoveInput {
        action: f.action.clone(),
        note: f.note.clone(),
        unit_id: id_of(&f.unit_id),
        into_id: None,
        convert_to: Some(f.convert_to.clone()).filter(|s| !s.is_empty()),
        level: Some(f.level.clone()).filter(|s| !s.is_empty()),
        category_id: id_of(&f.category_id),
    };
    finish_move(&o, &meta, &user, id, input, &f.into_tracking_no, &[]).await
}

/// A reply with attachments: the form is multipart, its CSRF token rides in the query.
async fn make_move_files(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let mp = multipart.map_err(|_| {
        AppError::bad_request(
            "上传的内容无法读取，请重试",
            "The upload could not be read; please try again",
        )
    })?;
    let (fields, files) = read_move_form(mp).await?;
    let input = move_input_of(&fields);
    finish_move(&o, &meta, &user, id, input, "", &files).await
}

async fn finish_move(
    o: &Opinions,
    meta: &RequestMeta,
    user: &PageUser,
    id: i64,
    mut input: MoveInput,
    into_tracking_no: &str,
    files: &[NamedUpload],
) -> PageResult {
    let p = &user.principal;
    let mut result = Ok(());
    if input.action == "merge" {
        match handling::id_by_tracking_no(o, p, into_tracking_no).await? {
            Some(t) => input.into_id = Some(t),
            None => {
                result = Err(AppError::field(
                    "into_tracking_no",
                    "找不到该受理编号的事项",
                    "no item with this tracking number",
                ))
            }
        }
    }
    if result.is_ok() {
        result = moves::apply_with_files(o, p, &meta.client, id, &input, files)
            .await
            .map(|_| ());
    }
    match result {
        Ok(()) => {
            // A unit that returned the item no longer sees it: back to the queue then.
            let to = if read::get(o, p, id).await.is_ok() {
                format!("{}/opinions/{id}?flash=moved", base(user))
            } else {
                format!("{}/opinions?flash=moved", base(user))
            };
            Ok(Redirect::to(&to).into_response())
        }
        // Out of scope stays a plain 404; other refusals show the item again with the reason.
        Err(AppError::NotFound) => Err(AppError::NotFound.into()),
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let mut m = e.message();
            for d in e.details() {
                m.zh = format!("{}（{}：{}）", m.zh, d.field, d.zh);
                m.en = format!("{} ({}: {})", m.en, d.field, d.en);
            }
            detail(o, meta, user, id, Some((false, m.zh, m.en)), None, status).await
        }
    }
}

#[derive(Template)]
#[template(path = "handling_inbox.html")]
struct InboxPage {
    shell: Shell,
    base: &'static str,
    items: Vec<InboxItem>,
    unread: i64,
    total: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct InboxQuery {
    #[serde(default)]
    page: String,
    flash: Option<String>,
}

async fn inbox_page(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    Query(iq): Query<InboxQuery>,
) -> PageResult {
    let q = PageQuery {
        page: iq.page.parse().ok(),
        per_page: Some(30),
    };
    let (page, unread) = handling::inbox(&o, &user.principal, &q).await?;
    let b = base(&user);
    let pages = page.pages();
    render(
        InboxPage {
            shell: flash_of(
                Shell::for_user(&meta, &user, meta.lang.pick("消息", "Inbox")),
                iq.flash.as_deref(),
            ),
            base: b,
            prev_href: (page.page > 1).then(|| format!("{b}/inbox?page={}", page.page - 1)),
            next_href: (page.page < pages).then(|| format!("{b}/inbox?page={}", page.page + 1)),
            total: page.total,
            items: page.items,
            unread,
        },
        StatusCode::OK,
    )
}

/// Marks a notification read and opens its item (or goes back to the inbox).
async fn read_notice(
    Extension(o): Extension<Opinions>,
    user: PageUser,
    Path(id): Path<i64>,
    PageForm(f): PageForm<Vec<(String, String)>>,
) -> PageResult {
    handling::mark_read(&o, &user.principal, id).await?;
    let b = base(&user);
    let to = f
        .iter()
        .find(|(k, _)| k == "opinion_id")
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .map(|oid| format!("{b}/opinions/{oid}"))
        .unwrap_or_else(|| format!("{b}/inbox?flash=read"));
    Ok(Redirect::to(&to).into_response())
}
