//! Citizen pages (群众端), phone first and without JavaScript: the form reached from a
//! deputy's code, a station's code or the general entry; the receipt; tracking with the
//! query code; rating the reply.
//!
//! The form is multipart (it carries photos), so its CSRF token rides in the action's
//! query string. Each rendering carries a fresh idempotency key: a double click or a
//! resend of the same rendered form returns the first receipt instead of a second item.

use crate::api::citizen::{channel_of, SubmissionForm, UPLOAD_LIMIT};
use crate::model::input::{MAX_BODY, MAX_PHOTOS};
use crate::model::{CitizenView, Receipt, Status};
use crate::service::categories::{self, Category};
use crate::service::{moves, read, submit};
use crate::Opinions;
use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Extension, Router};
use rand::RngCore;
use serde::Deserialize;
use yidu_kernel::{AppError, AppResult, FieldError, Lang, Principal};
use yidu_registry::model::RegionLevel;
use yidu_web::auth::CsrfToken;
use yidu_web::form::PageForm;
use yidu_web::{AppState, PageError, PageResult, RequestMeta, Shell};

pub fn router() -> Router<AppState> {
    let upload = DefaultBodyLimit::max(UPLOAD_LIMIT);
    Router::new()
        .route("/new", get(general_form).post(general_submit).layer(upload))
        .route(
            "/c/d/{code}/new",
            get(deputy_form).post(deputy_submit).layer(upload),
        )
        .route(
            "/c/s/{code}/new",
            get(station_form).post(station_submit).layer(upload),
        )
        .route("/metoo", post(super::citizen_metoo::metoo_post))
        .route("/track", get(track_form).post(track_post))
        .route("/track/rating", post(rate_post))
        .route("/track/attachment", post(attachment_post))
}

fn render(t: &impl Template, status: StatusCode) -> PageResult {
    let body = t.render().map_err(anyhow::Error::from)?;
    Ok((status, Html(body)).into_response())
}

fn new_key() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex_lower(&b)
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------------------------
// The form

/// Where the form came from: what it is about and where it posts.
#[derive(Debug, Clone)]
struct Target {
    /// "/new", "/c/d/{code}/new" or "/c/s/{code}/new".
    path: String,
    deputy_code: Option<String>,
    station_code: Option<String>,
    /// Whom the citizen writes to, e.g. "张三代表" or "青山镇人大代表联络站".
    to_zh: String,
    to_en: String,
    /// The region the code belongs to, to offer only nearby places.
    region_path: Option<String>,
}

async fn deputy_target(o: &Opinions, code: &str) -> AppResult<Target> {
    let card = yidu_registry::codes::store::deputy_by_code(&o.db, code)
        .await?
        .ok_or(AppError::NotFound)?;
    let district = district_prefix(o, &card.region_path).await?;
    Ok(Target {
        path: format!("/c/d/{}/new", card.code),
        deputy_code: Some(card.code.clone()),
        station_code: None,
        to_zh: format!("向{}代表反映问题", card.name),
        to_en: format!("Tell deputy {} about a problem", card.name),
        region_path: district,
    })
}

async fn station_target(o: &Opinions, code: &str) -> AppResult<Target> {
    let card = yidu_registry::codes::store::station_by_code(&o.db, code)
        .await?
        .ok_or(AppError::NotFound)?;
    let district = district_prefix(o, &card.region_path).await?;
    Ok(Target {
        path: format!("/c/s/{}/new", card.code),
        deputy_code: None,
        station_code: Some(card.code.clone()),
        to_zh: format!("向{}反映问题", card.name),
        to_en: format!("Tell {} about a problem", card.name),
        region_path: district,
    })
}

fn general_target() -> Target {
    Target {
        path: "/new".into(),
        deputy_code: None,
        station_code: None,
        to_zh: "反映问题".into(),
        to_en: "Report a problem".into(),
        region_path: None,
    }
}

/// The materialized path of the district a region lies in (so a code's form offers the
/// places of its own district).
async fn district_prefix(o: &Opinions, region_path: &str) -> AppResult<Option<String>> {
    let Some(id) = region_path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return Ok(None);
    };
    let Some(r) = yidu_registry::scope::region_path(&o.db, id).await? else {
        return Ok(None);
    };
    let Some(d) = r.district_id else {
        return Ok(Some(r.path));
    };
    Ok(yidu_registry::scope::region_path(&o.db, d)
        .await?
        .map(|d| d.path))
}

struct Opt {
    value: String,
    label: String,
    selected: bool,
}

struct Group {
    label: String,
    options: Vec<Opt>,
}

fn category_groups(tree: &[Category], lang: Lang, chosen: &str) -> Vec<Group> {
    let name = |c: &Category| -> String {
        if lang == Lang::En && !c.name_en.is_empty() {
            c.name_en.clone()
        } else {
            c.name.clone()
        }
    };
    let opt = |c: &Category, label: String| Opt {
        value: c.id.to_string(),
        selected: c.id.to_string() == chosen.trim(),
        label,
    };
    tree.iter()
        .map(|top| {
            let mut options = vec![opt(
                top,
                format!("{}（{}）", name(top), lang.pick("综合", "general")),
            )];
            for second in &top.children {
                options.push(opt(second, name(second)));
                for third in &second.children {
                    options.push(opt(third, format!("{} › {}", name(second), name(third))));
                }
            }
            Group {
                label: name(top),
                options,
            }
        })
        .collect()
}

/// Communities and grids grouped by township (within `under` when given).
async fn place_groups(o: &Opinions, under: Option<&str>, chosen: &str) -> AppResult<Vec<Group>> {
    let all = yidu_registry::service::regions::all(
        &o.db,
        &Principal::system(),
        &yidu_registry::service::regions::RegionFilter::default(),
    )
    .await?;
    let within = |path: &str| under.map(|u| path.starts_with(u)).unwrap_or(true);
    let mut groups = Vec::new();
    for t in all
        .iter()
        .filter(|r| r.level == RegionLevel::Township && within(&r.path))
    {
        let prefix = format!("{}/", t.full_name);
        let options: Vec<Opt> = all
            .iter()
            .filter(|r| {
                matches!(r.level, RegionLevel::Community | RegionLevel::Grid)
                    && r.path.starts_with(&t.path)
            })
            .map(|r| Opt {
                value: r.id.to_string(),
                selected: r.id.to_string() == chosen.trim(),
                label: r
                    .full_name
                    .strip_prefix(&prefix)
                    .unwrap_or(&r.name)
                    .replace('/', " › "),
            })
            .collect();
        if !options.is_empty() {
            groups.push(Group {
                label: t.full_name.replace('/', " · "),
                options,
            });
        }
    }
    Ok(groups)
}

#[derive(Template)]
#[template(path = "citizen_form.html")]
struct FormPage {
    shell: Shell,
    action: String,
    to: String,
    from_code: bool,
    categories: Vec<Group>,
    places: Vec<Group>,
    f: SubmissionForm,
    key: String,
    errors: Vec<FieldError>,
    max_body: usize,
    max_photos: usize,
    /// The 同问 look-up the page's script calls, with the code the citizen came through.
    similar_url: String,
    /// Similar open items offered before filing (the server-rendered 同问 step for
    /// browsers without script); titles and counts only.
    similar: Vec<crate::assist::metoo::PublicSimilar>,
    /// Where a 同问 sends the citizen back to (this form, without its token).
    back: String,
    /// The citizen attached photos that must be chosen again.
    photos_dropped: bool,
}

impl FormPage {
    /// The problems with a field (photos[0], photos[1] ... are shown under "photos").
    fn err(&self, field: &str) -> Vec<&FieldError> {
        self.errors
            .iter()
            .filter(|e| e.field == field || (field == "photos" && e.field.starts_with("photos")))
            .collect()
    }
    /// Problems that belong to no field on the form.
    fn other_errors(&self) -> Vec<&FieldError> {
        const SHOWN: &[&str] = &[
            "category_id",
            "title",
            "body",
            "grid_id",
            "address",
            "latitude",
            "longitude",
            "name",
            "phone",
            "consent",
        ];
        self.errors
            .iter()
            .filter(|e| !SHOWN.contains(&e.field.as_str()) && !e.field.starts_with("photos"))
            .collect()
    }
}

async fn form_page(
    o: &Opinions,
    meta: &RequestMeta,
    csrf: &str,
    target: &Target,
    f: SubmissionForm,
    key: String,
    errors: Vec<FieldError>,
) -> PageResult {
    form_page_with(o, meta, csrf, target, f, key, errors, Vec::new()).await
}

#[allow(clippy::too_many_arguments)]
async fn form_page_with(
    o: &Opinions,
    meta: &RequestMeta,
    csrf: &str,
    target: &Target,
    f: SubmissionForm,
    key: String,
    errors: Vec<FieldError>,
    similar: Vec<crate::assist::metoo::PublicSimilar>,
) -> PageResult {
    let to = meta.lang.pick(&target.to_zh, &target.to_en).to_string();
    let photos_dropped = !f.photos.is_empty();
    let mut f = f;
    f.photos.clear();
    let tree = categories::list(o).await?;
    let page = FormPage {
        shell: Shell::public(meta, csrf, &to),
        // The token is hex and the path holds a code of letters and digits: nothing to escape.
        action: format!("{}?_csrf={csrf}", target.path),
        from_code: target.deputy_code.is_some() || target.station_code.is_some(),
        categories: category_groups(&tree, meta.lang, &f.category_id),
        places: place_groups(o, target.region_path.as_deref(), &f.grid_id).await?,
        to,
        f,
        key,
        errors,
        max_body: MAX_BODY,
        max_photos: MAX_PHOTOS,
        similar_url: crate::assist::metoo::similar_url(
            target.deputy_code.as_deref(),
            target.station_code.as_deref(),
        ),
        similar,
        back: target.path.clone(),
        photos_dropped,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(&page, status)
}

async fn show_form(o: &Opinions, meta: &RequestMeta, csrf: &str, target: &Target) -> PageResult {
    form_page(
        o,
        meta,
        csrf,
        target,
        SubmissionForm::default(),
        new_key(),
        Vec::new(),
    )
    .await
}

async fn general_form(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
) -> PageResult {
    show_form(&o, &meta, &csrf, &general_target()).await
}

async fn deputy_form(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    Path(code): Path<String>,
) -> PageResult {
    show_form(&o, &meta, &csrf, &deputy_target(&o, &code).await?).await
}

async fn station_form(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    Path(code): Path<String>,
) -> PageResult {
    show_form(&o, &meta, &csrf, &station_target(&o, &code).await?).await
}

#[derive(Template)]
#[template(path = "citizen_receipt.html")]
struct ReceiptPage {
    shell: Shell,
    r: Receipt,
    track_href: String,
}

#[derive(Template)]
#[template(path = "citizen_refused.html")]
struct RefusedPage {
    shell: Shell,
    per_hour: i64,
    per_day: i64,
    back: String,
}

async fn take_submission(
    o: &Opinions,
    meta: &RequestMeta,
    csrf: &str,
    target: &Target,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let multipart = multipart.map_err(|_| {
        AppError::bad_request(
            "表单无法读取，请返回重新填写",
            "The form could not be read; go back and fill it in again",
        )
    })?;
    let mut form = SubmissionForm::read(multipart).await?;
    // The page decides the channel, whatever the form says.
    form.deputy_code = target.deputy_code.clone().unwrap_or_default();
    form.station_code = target.station_code.clone().unwrap_or_default();
    let key = if form.idempotency_key.trim().is_empty() {
        new_key()
    } else {
        form.idempotency_key.clone()
    };
    let result = match form.submission() {
        Ok(s) => {
            // Without the page's script nobody has offered 同问 yet: do it now, once, for a
            // form that would otherwise be filed (a form with mistakes gets those first).
            // A resend of a filed form (double click, retry) gets its receipt instead.
            if form.similar_checked.trim().is_empty()
                && s.validate().is_ok()
                && !submit::already_stored(o, &key).await?
            {
                let similar = super::citizen_metoo::offer(
                    o,
                    target.deputy_code.as_deref(),
                    target.station_code.as_deref(),
                    &s,
                )
                .await?;
                if !similar.is_empty() {
                    form.similar_checked = "1".into();
                    return form_page_with(o, meta, csrf, target, form, key, Vec::new(), similar)
                        .await;
                }
            }
            let channel = channel_of(
                target.deputy_code.as_deref(),
                target.station_code.as_deref(),
            );
            submit::submit(o, channel, &s, &form.photos, &meta.client, Some(&key)).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => {
            // Tracking numbers are letters and digits only.
            let track_href = format!("/track?no={}", r.tracking_no);
            let page = ReceiptPage {
                shell: Shell::public(
                    meta,
                    csrf,
                    meta.lang
                        .pick("已收到您的意见", "We have received your report"),
                ),
                r,
                track_href,
            };
            render(&page, StatusCode::OK)
        }
        Err(AppError::Validation(errors)) => {
            // Photos are not kept: the citizen picks them again.
            form_page(o, meta, csrf, target, form, key, errors).await
        }
        Err(AppError::RateLimited) => {
            let page = RefusedPage {
                shell: Shell::public(
                    meta,
                    csrf,
                    meta.lang.pick("提交过于频繁", "Too many submissions"),
                ),
                per_hour: o.config.per_client_per_hour,
                per_day: o.config.per_phone_per_day,
                back: target.path.clone(),
            };
            render(&page, StatusCode::TOO_MANY_REQUESTS)
        }
        Err(e) => Err(PageError::Error(e)),
    }
}

async fn general_submit(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    take_submission(&o, &meta, &csrf, &general_target(), multipart).await
}

async fn deputy_submit(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    Path(code): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let target = deputy_target(&o, &code).await?;
    take_submission(&o, &meta, &csrf, &target, multipart).await
}

async fn station_submit(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    Path(code): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let target = station_target(&o, &code).await?;
    take_submission(&o, &meta, &csrf, &target, multipart).await
}

// ---------------------------------------------------------------------------------
// Tracking and rating

#[derive(Template)]
#[template(path = "citizen_track.html")]
struct TrackPage {
    shell: Shell,
    no: String,
    not_found: bool,
}

#[derive(Debug, Default, Deserialize)]
struct TrackQuery {
    #[serde(default)]
    no: String,
}

async fn track_form(
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<TrackQuery>,
) -> PageResult {
    let page = TrackPage {
        shell: Shell::public(
            &meta,
            &csrf,
            meta.lang.pick("查询办理进度", "Track your report"),
        ),
        no: q.no,
        not_found: false,
    };
    render(&page, StatusCode::OK)
}

/// One line of the citizen's timeline.
struct Step {
    at: String,
    what: String,
    actor: String,
    note: String,
}

#[derive(Template)]
#[template(path = "citizen_status.html")]
struct StatusPage {
    shell: Shell,
    v: CitizenView,
    code: String,
    status_label: String,
    steps: Vec<Step>,
    replied_at: String,
    rating_errors: Vec<FieldError>,
    comment: String,
}

fn action_label(action: &str, lang: Lang) -> &'static str {
    let (zh, en) = match action {
        "submit" => ("提交", "Submitted"),
        "accept" => ("受理", "Accepted"),
        "reject" => ("不予受理", "Not accepted"),
        "merge" => ("合并办理", "Merged with a similar report"),
        "answer_on_spot" => ("当场答复", "Answered on the spot"),
        "assign" => ("交办", "Assigned for handling"),
        "take" => ("承办单位接收", "Taken by the handling unit"),
        "return" => ("退回重新交办", "Returned for reassignment"),
        "escalate" => ("提交上级办理", "Passed to a higher level"),
        "convert" => (
            "转为代表建议或监督事项",
            "Taken up as a suggestion or supervision item",
        ),
        "start" => ("开始办理", "Handling started"),
        "reply" => ("答复", "Replied"),
        "rate" => ("群众评价", "Rated"),
        "close" => ("办结", "Closed"),
        "reopen" => ("重新办理", "Reopened"),
        _ => ("办理", "Handled"),
    };
    lang.pick(zh, en)
}

fn status_label(s: Status, lang: Lang) -> String {
    lang.pick(s.label_zh(), s.label_en()).to_string()
}

async fn status_page(
    meta: &RequestMeta,
    csrf: &str,
    v: CitizenView,
    code: &str,
    flash: Option<(bool, &str, &str)>,
    rating_errors: Vec<FieldError>,
    comment: String,
) -> PageResult {
    let lang = meta.lang;
    let steps = v
        .timeline
        .iter()
        .map(|e| Step {
            at: e.at_local.clone(),
            what: action_label(&e.action, lang).to_string(),
            actor: e.actor.clone(),
            note: e.note.clone(),
        })
        .collect();
    let mut shell = Shell::public(meta, csrf, lang.pick("办理进度", "Progress"));
    if let Some((ok, zh, en)) = flash {
        shell = shell.with_flash(ok, zh, en);
    }
    let status = if rating_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = StatusPage {
        shell,
        status_label: status_label(v.status, lang),
        replied_at: v
            .replied_at
            .map(yidu_kernel::clock::format_china)
            .unwrap_or_default(),
        steps,
        code: code.trim().to_string(),
        v,
        rating_errors,
        comment,
    };
    render(&page, status)
}

#[derive(Debug, Default, Deserialize)]
struct TrackInput {
    #[serde(default)]
    tracking_no: String,
    #[serde(default)]
    code: String,
}

async fn track_post(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    PageForm(input): PageForm<TrackInput>,
) -> PageResult {
    match read::track(&o, &input.tracking_no, &input.code).await {
        Ok(v) => {
            status_page(
                &meta,
                &csrf,
                v,
                &input.code,
                None,
                Vec::new(),
                String::new(),
            )
            .await
        }
        Err(AppError::NotFound) => {
            // The same answer for a wrong number and a wrong code.
            let page = TrackPage {
                shell: Shell::public(
                    &meta,
                    &csrf,
                    meta.lang.pick("查询办理进度", "Track your report"),
                ),
                no: input.tracking_no.trim().to_string(),
                not_found: true,
            };
            render(&page, StatusCode::NOT_FOUND)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct AttachmentInput {
    #[serde(default)]
    tracking_no: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    file_id: String,
}

/// Downloads a reply attachment. A form post, so the query code never lands in a URL
/// (server logs, browser history).
async fn attachment_post(
    Extension(o): Extension<Opinions>,
    PageForm(input): PageForm<AttachmentInput>,
) -> PageResult {
    let file_id = input
        .file_id
        .trim()
        .parse()
        .map_err(|_| AppError::NotFound)?;
    let (ct, name, bytes) =
        read::citizen_attachment(&o, &input.tracking_no, &input.code, file_id).await?;
    Ok(crate::api::handling::download_response(ct, &name, bytes))
}

#[derive(Debug, Default, Deserialize)]
struct RateInput {
    #[serde(default)]
    tracking_no: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    satisfaction: String,
    #[serde(default)]
    comment: String,
}

async fn rate_post(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    PageForm(input): PageForm<RateInput>,
) -> PageResult {
    let result = moves::rate(
        &o,
        &input.tracking_no,
        &input.code,
        &input.satisfaction,
        &input.comment,
        &meta.client,
    )
    .await;
    let (flash, errors, comment) = match result {
        Ok(Status::InProgress) => (
            Some((
                true,
                "已收到您的评价，事项将重新办理。",
                "Thank you. The report will be handled again.",
            )),
            Vec::new(),
            String::new(),
        ),
        Ok(_) => (
            Some((true, "感谢您的评价！", "Thank you for your rating!")),
            Vec::new(),
            String::new(),
        ),
        Err(AppError::Validation(v)) => (None, v, input.comment.clone()),
        Err(AppError::Conflict(_)) => (
            Some((
                false,
                "该事项当前不能评价。",
                "This report cannot be rated now.",
            )),
            Vec::new(),
            String::new(),
        ),
        Err(e) => return Err(e.into()),
    };
    let v = read::track(&o, &input.tracking_no, &input.code).await?;
    status_page(&meta, &csrf, v, &input.code, flash, errors, comment).await
}
