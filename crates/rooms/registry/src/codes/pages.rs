//! Handlers of the code pages, QR pictures, photos and printable sheets.

use super::labels::Label;
use super::store::{self, CodeKind, DeputyBrief, DeputyCard, StationCard};
use super::{plausible_code, public_link, qr};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use yidu_kernel::{AppError, AppResult, Principal, Role};
use yidu_web::auth::CsrfToken;
use yidu_web::{AppState, PageResult, PageUser, RequestMeta, Shell};

/// QR codes only change when the public URL does (a restart with new configuration):
/// a day of caching keeps printing a sheet of badges from asking the server 300 times.
const QR_CACHE: &str = "public, max-age=86400";
const PHOTO_CACHE: &str = "public, max-age=3600";

fn render(t: impl Template) -> AppResult<String> {
    t.render()
        .map_err(|e| AppError::internal(anyhow::Error::from(e)))
}

fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

// ----- public pages -------------------------------------------------------------

#[derive(Template)]
#[template(path = "code_deputy.html")]
struct DeputyPage {
    shell: Shell,
    d: DeputyCard,
}

#[derive(Template)]
#[template(path = "code_station.html")]
struct StationPage {
    shell: Shell,
    s: StationCard,
}

#[derive(Template)]
#[template(path = "code_missing.html")]
struct MissingPage {
    shell: Shell,
    code: String,
    kind_zh: &'static str,
    kind_en: &'static str,
}

fn missing(meta: &RequestMeta, csrf: &str, kind: CodeKind, code: &str) -> PageResult {
    let (kind_zh, kind_en) = match kind {
        CodeKind::Deputy => ("代表码", "deputy code"),
        CodeKind::Station => ("联络站码", "station code"),
    };
    let shell = Shell::public(meta, csrf, meta.lang.pick("未找到", "Not found"));
    // Echo the code only when it looks like one (it is escaped anyway).
    let code = if plausible_code(code) {
        code.to_string()
    } else {
        String::new()
    };
    let body = render(MissingPage {
        shell,
        code,
        kind_zh,
        kind_en,
    })?;
    Ok(html(StatusCode::NOT_FOUND, body))
}

/// `GET /c/d/{code}`: the deputy's public page.
pub async fn deputy_page(
    State(state): State<AppState>,
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    Path(code): Path<String>,
) -> PageResult {
    let found = if plausible_code(&code) {
        store::deputy_by_code(&state.db, &code).await?
    } else {
        None
    };
    let Some(d) = found else {
        return missing(&meta, &csrf, CodeKind::Deputy, &code);
    };
    let title = format!("{} · {}", d.name, meta.lang.pick("人大代表", "Deputy"));
    let shell = Shell::public(&meta, &csrf, &title);
    Ok(html(StatusCode::OK, render(DeputyPage { shell, d })?))
}

/// `GET /c/s/{code}`: the station's public page.
pub async fn station_page(
    State(state): State<AppState>,
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    Path(code): Path<String>,
) -> PageResult {
    let found = if plausible_code(&code) {
        store::station_by_code(&state.db, &code).await?
    } else {
        None
    };
    let Some(s) = found else {
        return missing(&meta, &csrf, CodeKind::Station, &code);
    };
    let shell = Shell::public(&meta, &csrf, &s.name.clone());
    Ok(html(StatusCode::OK, render(StationPage { shell, s })?))
}

// ----- photo --------------------------------------------------------------------

/// Uploaded photos are served only in raster formats: an SVG "photo" could carry script.
fn safe_image_type(ct: &str) -> Option<&'static str> {
    match ct.trim().to_ascii_lowercase().as_str() {
        "image/jpeg" | "image/jpg" => Some("image/jpeg"),
        "image/png" => Some("image/png"),
        "image/webp" => Some("image/webp"),
        "image/gif" => Some("image/gif"),
        _ => None,
    }
}

fn placeholder_svg(surname: &str) -> String {
    let s = surname
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let size = if s.chars().count() > 1 { 30 } else { 44 };
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 120" width="96" height="120">"#,
            r##"<rect width="96" height="120" rx="6" fill="#b71c1c"/>"##,
            r##"<text x="48" y="60" dy=".35em" text-anchor="middle" font-size="{size}" fill="#fff" "##,
            r#"font-family="PingFang SC, Noto Sans CJK SC, Microsoft YaHei, sans-serif">{s}</text></svg>"#
        ),
        size = size,
        s = s
    )
}

/// `GET /c/d/{code}/photo`: the uploaded photo, or a placeholder showing the surname.
pub async fn deputy_photo(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, yidu_web::PageError> {
    if !plausible_code(&code) {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    let Some(photo) = store::photo_by_code(&state.db, &code).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    if let Some((ct, bytes, updated_at)) = photo.image {
        if let Some(ct) = safe_image_type(&ct) {
            let etag = format!("\"p{updated_at}\"");
            let fresh = headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').any(|t| t.trim() == etag))
                .unwrap_or(false);
            let mut resp = if fresh {
                StatusCode::NOT_MODIFIED.into_response()
            } else {
                ([(header::CONTENT_TYPE, ct)], bytes).into_response()
            };
            let h = resp.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(PHOTO_CACHE));
            if let Ok(v) = HeaderValue::from_str(&etag) {
                h.insert(header::ETAG, v);
            }
            return Ok(resp);
        }
    }
    let svg = placeholder_svg(&super::labels::surname(&photo.name));
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        svg,
    )
        .into_response())
}

// ----- QR codes -----------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct PngQuery {
    /// Pixels per module (1–40, default 10).
    pub scale: Option<u32>,
}

enum QrFormat {
    Svg,
    Png(u32),
}

async fn qr_response(
    state: &AppState,
    kind: CodeKind,
    code: &str,
    format: QrFormat,
) -> Result<Response, AppError> {
    if !plausible_code(code) {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    let Some(stored) = store::active_code(&state.db, kind, code).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let link = public_link(&state.config.public_url, kind, &stored);
    let matrix = qr::Matrix::encode(&link)?;
    let resp = match format {
        QrFormat::Svg => (
            [
                (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
                (header::CACHE_CONTROL, QR_CACHE),
            ],
            qr::svg(&matrix, &link),
        )
            .into_response(),
        QrFormat::Png(scale) => {
            let bytes = qr::png(&matrix, scale)?;
            let disposition = format!("inline; filename=\"yidu-{}-{}.png\"", kind.letter(), stored);
            let mut resp = (
                [
                    (header::CONTENT_TYPE, "image/png"),
                    (header::CACHE_CONTROL, QR_CACHE),
                ],
                bytes,
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&disposition) {
                resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            resp
        }
    };
    Ok(resp)
}

fn png_scale(q: &PngQuery) -> u32 {
    q.scale
        .unwrap_or(qr::DEFAULT_PNG_SCALE)
        .clamp(1, qr::MAX_PNG_SCALE)
}

pub async fn deputy_qr_svg(State(state): State<AppState>, Path(code): Path<String>) -> PageResult {
    Ok(qr_response(&state, CodeKind::Deputy, &code, QrFormat::Svg).await?)
}

pub async fn deputy_qr_png(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<PngQuery>,
) -> PageResult {
    Ok(qr_response(
        &state,
        CodeKind::Deputy,
        &code,
        QrFormat::Png(png_scale(&q)),
    )
    .await?)
}

pub async fn station_qr_svg(State(state): State<AppState>, Path(code): Path<String>) -> PageResult {
    Ok(qr_response(&state, CodeKind::Station, &code, QrFormat::Svg).await?)
}

pub async fn station_qr_png(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<PngQuery>,
) -> PageResult {
    Ok(qr_response(
        &state,
        CodeKind::Station,
        &code,
        QrFormat::Png(png_scale(&q)),
    )
    .await?)
}

// ----- staff: printable sheets ---------------------------------------------------

/// May print the badges or code card of this station: office and township staff over
/// their region, the station's own staff, and the station's deputies.
fn may_print_station(p: &Principal, s: &StationCard) -> bool {
    match p.role {
        Role::Admin => true,
        Role::Office | Role::Township => p.covers(&s.region_path),
        Role::Station => p.scope_id == Some(s.id),
        Role::Deputy => s.deputies.iter().any(|d| Some(d.id) == p.scope_id),
        Role::Department | Role::Committee => false,
    }
}

/// May print this deputy's code card: office and township staff over the deputy's
/// region or one of the deputy's stations, those stations' staff, and the deputy.
fn may_print_deputy(p: &Principal, d: &DeputyCard, station_paths: &[(i64, String)]) -> bool {
    match p.role {
        Role::Admin => true,
        Role::Office | Role::Township => {
            p.covers(&d.region_path) || station_paths.iter().any(|(_, path)| p.covers(path))
        }
        Role::Station => station_paths.iter().any(|(id, _)| p.scope_id == Some(*id)),
        Role::Deputy => p.scope_id == Some(d.id),
        Role::Department | Role::Committee => false,
    }
}

/// One badge of the A4 sheet.
pub struct Badge {
    pub code: String,
    pub name: String,
    pub levels: Vec<Label>,
}

#[derive(Template)]
#[template(path = "badges.html")]
struct BadgesPage {
    shell: Shell,
    station: StationCard,
    /// Badges in pages of eight, so each printed A4 sheet holds exactly eight.
    sheets: Vec<Vec<Badge>>,
    count: usize,
}

pub const BADGES_PER_SHEET: usize = 8;

fn badge_of(d: &DeputyBrief) -> Badge {
    Badge {
        code: d.code.clone(),
        name: d.name.clone(),
        levels: d.levels.clone(),
    }
}

/// `GET /staff/stations/{id}/badges`: badges of every deputy of the station.
pub async fn station_badges(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let station = store::station_by_id(&state.db, id)
        .await?
        .filter(|s| may_print_station(&user.principal, s))
        .ok_or(AppError::NotFound)?;
    let badges: Vec<Badge> = station.deputies.iter().map(badge_of).collect();
    let count = badges.len();
    let mut sheets: Vec<Vec<Badge>> = Vec::new();
    for b in badges {
        match sheets.last_mut() {
            Some(s) if s.len() < BADGES_PER_SHEET => s.push(b),
            _ => sheets.push(vec![b]),
        }
    }
    let title = format!(
        "{} · {}",
        station.name,
        meta.lang.pick("代表胸牌", "Deputy badges")
    );
    let shell = Shell::for_user(&meta, &user, &title);
    let body = render(BadgesPage {
        shell,
        station,
        sheets,
        count,
    })?;
    Ok(html(StatusCode::OK, body))
}

#[derive(Template)]
#[template(path = "code_card.html")]
struct CardPage {
    shell: Shell,
    kind: &'static str,
    code: String,
    name: String,
    subtitle_zh: String,
    subtitle_en: String,
    lines: Vec<String>,
    link: String,
}

/// `GET /staff/codes/d/{code}`: one deputy's printable code card.
pub async fn deputy_card(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(code): Path<String>,
) -> PageResult {
    if !plausible_code(&code) {
        return Err(AppError::NotFound.into());
    }
    let d = store::deputy_by_code(&state.db, &code)
        .await?
        .ok_or(AppError::NotFound)?;
    let paths = store::deputy_station_paths(&state.db, d.id).await?;
    if !may_print_deputy(&user.principal, &d, &paths) {
        return Err(AppError::NotFound.into());
    }
    let shell = Shell::for_user(&meta, &user, &d.name);
    let zh: Vec<&str> = d.levels.iter().map(|l| l.zh.as_str()).collect();
    let en: Vec<&str> = d.levels.iter().map(|l| l.en.as_str()).collect();
    let page = CardPage {
        kind: "d",
        link: public_link(&state.config.public_url, CodeKind::Deputy, &d.code),
        code: d.code.clone(),
        name: d.name.clone(),
        subtitle_zh: zh.join("、"),
        subtitle_en: en.join(", "),
        lines: d.stations.iter().map(|s| s.name.clone()).collect(),
        shell,
    };
    Ok(html(StatusCode::OK, render(page)?))
}

/// `GET /staff/codes/s/{code}`: one station's printable code card (for its door).
pub async fn station_card(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(code): Path<String>,
) -> PageResult {
    if !plausible_code(&code) {
        return Err(AppError::NotFound.into());
    }
    let s = store::station_by_code(&state.db, &code)
        .await?
        .filter(|s| may_print_station(&user.principal, s))
        .ok_or(AppError::NotFound)?;
    let shell = Shell::for_user(&meta, &user, &s.name);
    let mut lines = vec![s.address.clone()];
    if !s.reception_schedule.is_empty() {
        lines.push(s.reception_schedule.clone());
    }
    let page = CardPage {
        kind: "s",
        link: public_link(&state.config.public_url, CodeKind::Station, &s.code),
        code: s.code.clone(),
        name: s.name.clone(),
        subtitle_zh: s.kind.zh.clone(),
        subtitle_en: s.kind.en.clone(),
        lines,
        shell,
    };
    Ok(html(StatusCode::OK, render(page)?))
}
