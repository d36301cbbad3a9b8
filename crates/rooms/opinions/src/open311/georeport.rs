//! Open311 GeoReport v2 under /open311/v2/: discovery, services (the category tree),
//! service definitions, POST and GET requests, one request, and tokens, in JSON and XML.
//!
//! Choices the spec leaves to the server:
//! - service_code is the category id; POST also takes the category code ("城乡建设/市政设施").
//! - service_request_id is the tracking number. We create items at once, so a token is
//!   the tracking number too.
//! - GET requests is public (no api_key needed) and lists only items that came in
//!   through external channels, with public fields only: never names, phones or e-mail.
//!   Description, address, coordinates and the reply (in status_notes) are given only to
//!   the channel that filed the item (api_key given); with a key, only that channel's
//!   items are listed.
//! - A POST without grid_id (our extra) lands in the channel's region, with no grid. Name and phone are
//!   taken as consented: the channel collected them under its own notice.
//! - A channel limited to some categories gets 403 for the others.

use super::channels::{self, Channel as ExtChannel};
use super::format::{self, opt, s, Fmt, V};
use crate::model::{Channel, Status, Submission};
use crate::service::submit::submit;
use crate::Opinions;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use yidu_db::Row;
use yidu_kernel::clock::{now_ms, rfc3339_china};
use yidu_kernel::AppError;
use yidu_web::{AppState, RequestMeta};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(get_top).post(post_top))
        .route("/open311/v2/services/{file}", get(get_service))
        .route("/open311/v2/requests/{file}", get(get_request))
        .route("/open311/v2/tokens/{file}", get(get_token))
}

type Params = Vec<(String, String)>;

fn params(query: Option<&str>, body: &[u8]) -> Params {
    let mut p: Params = serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    p.extend(serde_urlencoded::from_bytes::<Params>(body).unwrap_or_default());
    p
}

fn param<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn not_found(fmt: Fmt) -> Response {
    format::error(fmt, 404, "未找到 / not found")
}

/// The channel an optional api_key names; Err(403 answer) for a key that is wrong.
async fn optional_channel(
    o: &Opinions,
    fmt: Fmt,
    p: &Params,
) -> Result<Option<ExtChannel>, Response> {
    match param(p, "api_key") {
        None => Ok(None),
        Some(k) => match channels::by_key(&o.db, k).await {
            Ok(Some(c)) => Ok(Some(c)),
            Ok(None) => Err(bad_key(fmt)),
            Err(e) => Err(format::from_app(fmt, e)),
        },
    }
}

fn bad_key(fmt: Fmt) -> Response {
    format::error(
        fmt,
        403,
        "api_key 无效或已停用 / api_key is missing, invalid or revoked",
    )
}

async fn get_top(
    Extension(o): Extension<Opinions>,
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some((stem, fmt)) = format::split(&file) else {
        return not_found(Fmt::Json);
    };
    let p = params(q.as_deref(), &[]);
    match stem {
        "discovery" => discovery(fmt, &state.config.public_url),
        "services" => services(&o, fmt, &p).await,
        "requests" => requests(&o, fmt, &p, None).await,
        _ => not_found(fmt),
    }
}

async fn post_top(
    Extension(o): Extension<Opinions>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match format::split(&file) {
        Some(("requests", fmt)) => {
            let p = params(q.as_deref(), &body);
            let idem = headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or_else(|| param(&p, "idempotency_key").map(str::to_string));
            post_request(&o, fmt, &p, &meta.client, idem.as_deref()).await
        }
        Some((_, fmt)) => not_found(fmt),
        None => not_found(Fmt::Json),
    }
}

fn discovery(fmt: Fmt, public_url: &str) -> Response {
    let changeset = "2026-01-01T00:00:00+08:00";
    let url = format!("{}/open311/v2", public_url.trim_end_matches('/'));
    let endpoint = V::Obj(vec![
        ("specification", s("http://wiki.open311.org/GeoReport_v2")),
        ("url", s(url)),
        ("changeset", s(changeset)),
        ("type", s("production")),
        (
            "formats",
            V::List("format", vec![s("application/json"), s("text/xml")]),
        ),
    ]);
    let v = V::Obj(vec![
        ("changeset", s(changeset)),
        ("contact", s("人大常委会办公室 / office of the people's congress standing committee")),
        ("key_service", s("在“外部渠道”页面或用 yidu channel add 申请 / ask the office: /staff/channels or `yidu channel add`")),
        ("endpoints", V::List("endpoint", vec![endpoint])),
    ]);
    format::ok(fmt, "discovery", &v)
}

struct Service {
    id: i64,
    code: String,
    name: String,
    name_en: String,
    path: String,
    group: Option<String>,
}

async fn all_services(o: &Opinions) -> Result<Vec<Service>, AppError> {
    let rows = sqlx::query(
        "SELECT c.id, c.code, c.name, c.name_en, c.path, p.name, c.parent_id FROM categories c \
         LEFT JOIN categories p ON p.id = c.parent_id WHERE c.retired = 0 ORDER BY c.sort, c.id",
    )
    .fetch_all(o.db.pool())
    .await?;
    let tree: Vec<(i64, Option<i64>)> = rows.iter().map(|r| (r.get(0), r.get(6))).collect();
    let ranks = crate::service::categories::tree_ranks(&tree);
    let mut services: Vec<Service> = rows
        .iter()
        .map(|r| Service {
            id: r.get(0),
            code: r.get(1),
            name: r.get(2),
            name_en: r.get(3),
            path: r.get(4),
            group: r.get(5),
        })
        .collect();
    // The configured order of the tree, as staff see it in the forms.
    services.sort_by_key(|sv| ranks.get(&sv.id).copied().unwrap_or(usize::MAX));
    Ok(services)
}

fn service_v(sv: &Service) -> V {
    let keywords = [sv.name.as_str(), sv.name_en.as_str()]
        .iter()
        .filter(|k| !k.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(",");
    V::Obj(vec![
        ("service_code", s(sv.id.to_string())),
        ("service_name", s(&sv.name)),
        (
            "description",
            s(format!("{} {}", sv.code, sv.name_en).trim().to_string()),
        ),
        ("metadata", V::B(false)),
        ("type", s("realtime")),
        ("keywords", s(keywords)),
        ("group", opt(sv.group.clone())),
    ])
}

/// The category tree as services; with an api_key, only what the channel may file under.
async fn services(o: &Opinions, fmt: Fmt, p: &Params) -> Response {
    let ch = match optional_channel(o, fmt, p).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match all_services(o).await {
        Ok(list) => {
            let items = list
                .iter()
                .filter(|sv| ch.as_ref().map(|c| c.allows(&sv.path)).unwrap_or(true))
                .map(service_v)
                .collect();
            format::ok(fmt, "services", &V::List("service", items))
        }
        Err(e) => format::from_app(fmt, e),
    }
}

async fn find_service(o: &Opinions, code: &str) -> Result<Option<Service>, AppError> {
    let code = code.trim();
    Ok(all_services(o)
        .await?
        .into_iter()
        .find(|sv| sv.id.to_string() == code || sv.code == code))
}

/// A service definition: our categories have no extra attributes.
async fn get_service(Extension(o): Extension<Opinions>, Path(file): Path<String>) -> Response {
    let Some((code, fmt)) = format::split(&file) else {
        return not_found(Fmt::Json);
    };
    match find_service(&o, code).await {
        Ok(Some(sv)) => {
            let v = V::Obj(vec![
                ("service_code", s(sv.id.to_string())),
                ("attributes", V::List("attribute", vec![])),
            ]);
            format::ok(fmt, "service_definition", &v)
        }
        Ok(None) => format::error(fmt, 404, "service_code 不存在 / service_code not found"),
        Err(e) => format::from_app(fmt, e),
    }
}

/// A number field; Err is the 400 description.
fn parse_f64(p: &Params, field: &str) -> Result<Option<f64>, String> {
    match param(p, field) {
        None => Ok(None),
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| format!("{field}: 不是数字 / not a number")),
    }
}

async fn post_request(
    o: &Opinions,
    fmt: Fmt,
    p: &Params,
    client: &str,
    idem: Option<&str>,
) -> Response {
    let ch = match param(p, "api_key") {
        None => return bad_key(fmt),
        Some(k) => match channels::by_key(&o.db, k).await {
            Ok(Some(c)) => c,
            Ok(None) => return bad_key(fmt),
            Err(e) => return format::from_app(fmt, e),
        },
    };
    let Some(code) = param(p, "service_code") else {
        return format::error(fmt, 400, "service_code: 必填 / required");
    };
    let sv = match find_service(o, code).await {
        Ok(Some(sv)) => sv,
        Ok(None) => return format::error(fmt, 404, "service_code 不存在 / service_code not found"),
        Err(e) => return format::from_app(fmt, e),
    };
    if !ch.allows(&sv.path) {
        return format::error(
            fmt,
            403,
            "本渠道不能提交此类别 / this api_key may not file under this service_code",
        );
    }
    let (lat, long) = match (parse_f64(p, "lat"), parse_f64(p, "long")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return format::error(fmt, 400, &e),
    };
    let address = param(p, "address_string")
        .or(param(p, "address_id"))
        .unwrap_or("");
    if (lat.is_none() || long.is_none()) && address.is_empty() {
        return format::error(
            fmt,
            400,
            "lat/long, address_string: 需给出坐标或地址 / coordinates or an address are required",
        );
    }
    if lat.is_some() != long.is_some() {
        return format::error(fmt, 400, "lat/long: 须同时给出 / give both lat and long");
    }
    let Some(description) = param(p, "description") else {
        return format::error(fmt, 400, "description: 必填 / required");
    };
    let grid_id = match param(p, "grid_id") {
        Some(g) => match g.parse::<i64>() {
            Ok(g) => Some(g),
            Err(_) => return format::error(fmt, 400, "grid_id: 不是编号 / not an id"),
        },
        // Routed to the channel's region by submit, with no grid.
        None => None,
    };
    let title = param(p, "title")
        .map(str::to_string)
        .unwrap_or_else(|| description.chars().take(30).collect());
    let name = format!(
        "{}{}",
        param(p, "last_name").unwrap_or(""),
        param(p, "first_name").unwrap_or("")
    );
    let phone = param(p, "phone").unwrap_or("").to_string();
    let sub = Submission {
        category_id: Some(sv.id),
        title,
        body: description.to_string(),
        grid_id,
        address: address.to_string(),
        latitude: lat,
        longitude: long,
        consent: !name.is_empty() || !phone.is_empty(),
        name,
        phone,
        website: String::new(),
    };
    // Rate limits count per citizen behind the channel when the channel names one.
    let who = param(p, "email")
        .or(param(p, "phone"))
        .or(param(p, "device_id"))
        .unwrap_or(client);
    let client_key = format!("open311:{}:{who}", ch.name);
    match submit(
        o,
        Channel::External(ch.name.clone()),
        &sub,
        &[],
        &client_key,
        idem,
    )
    .await
    {
        Ok(r) => {
            let notice = format!(
                "已收到，跟踪号 {}，查询码 {} / received: tracking number {}, query code {}",
                r.tracking_no, r.query_code, r.tracking_no, r.query_code
            );
            let v = V::List(
                "request",
                vec![V::Obj(vec![
                    ("service_request_id", s(&r.tracking_no)),
                    ("service_notice", s(notice)),
                    ("account_id", V::Null),
                ])],
            );
            format::ok(fmt, "service_requests", &v)
        }
        Err(e) => format::from_app(fmt, e),
    }
}

/// A W3C timestamp field in UTC milliseconds; Err is the 400 description.
fn parse_time(p: &Params, field: &str) -> Result<Option<i64>, String> {
    let Some(v) = param(p, field) else {
        return Ok(None);
    };
    time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .map(|t| Some((t.unix_timestamp_nanos() / 1_000_000) as i64))
        .map_err(|_| {
            format!("{field}: 须为带时区的 W3C 时间 / must be a W3C timestamp with a time zone, e.g. 2026-01-31T08:00:00+08:00")
        })
}

const MAX_RESULTS: i64 = 1000;
const DEFAULT_DAYS: i64 = 90;

fn status_list(closed: bool) -> String {
    Status::ALL
        .iter()
        .filter(|s| s.is_open() != closed)
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(",")
}

/// GET requests (and, with `one`, GET requests/{id}) with the spec's filters.
async fn requests(o: &Opinions, fmt: Fmt, p: &Params, one: Option<&str>) -> Response {
    let ch = match optional_channel(o, fmt, p).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (start, end) = match (parse_time(p, "start_date"), parse_time(p, "end_date")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return format::error(fmt, 400, &e),
    };
    let mut conds = vec!["o.channel = 'external'".to_string()];
    let mut binds: Vec<String> = Vec::new();
    fn bind(binds: &mut Vec<String>, value: String) -> String {
        binds.push(value);
        format!("${}", binds.len())
    }
    if let Some(c) = &ch {
        let b = bind(&mut binds, c.name.clone());
        conds.push(format!("o.channel_ref = {b}"));
    }
    let ids: Vec<String> = match one {
        Some(id) => vec![id.to_string()],
        None => param(p, "service_request_id")
            .map(|l| {
                l.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    };
    if !ids.is_empty() {
        let marks: Vec<String> = ids.iter().map(|i| bind(&mut binds, i.clone())).collect();
        conds.push(format!("o.tracking_no IN ({})", marks.join(",")));
    } else {
        if let Some(codes) = param(p, "service_code") {
            let marks: Vec<String> = codes
                .split(',')
                .map(|c| bind(&mut binds, c.trim().to_string()))
                .collect();
            conds.push(format!(
                "CAST(o.category_id AS TEXT) IN ({})",
                marks.join(",")
            ));
        }
        match param(p, "status") {
            None => {}
            Some(st) => {
                let mut sets = Vec::new();
                for one in st.split(',').map(str::trim) {
                    match one {
                        "open" => sets.push(status_list(false)),
                        "closed" => sets.push(status_list(true)),
                        _ => {
                            return format::error(
                                fmt,
                                400,
                                "status: 只能是 open 或 closed / must be open or closed",
                            )
                        }
                    }
                }
                conds.push(format!("o.status IN ({})", sets.join(",")));
            }
        }
        // The spec's default window: the last 90 days when no dates are given.
        let end_ms = end.unwrap_or(i64::MAX);
        let start_ms = start.unwrap_or_else(|| {
            if end.is_some() {
                end_ms - DEFAULT_DAYS * 86_400_000
            } else {
                now_ms() - DEFAULT_DAYS * 86_400_000
            }
        });
        conds.push(format!("o.created_at >= {start_ms}"));
        if end.is_some() {
            conds.push(format!("o.created_at <= {end_ms}"));
        }
    }
    let sql = format!(
        "SELECT o.tracking_no, o.status, o.channel_ref, o.category_id, c.name, o.body, o.address, \
         o.latitude, o.longitude, o.created_at, o.updated_at, o.deadline_at, o.reply_text \
         FROM opinions o LEFT JOIN categories c ON c.id = o.category_id \
         WHERE {} ORDER BY o.created_at DESC, o.id DESC LIMIT {MAX_RESULTS}",
        conds.join(" AND ")
    );
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b.clone());
    }
    let rows = match q.fetch_all(o.db.pool()).await {
        Ok(r) => r,
        Err(e) => return format::from_app(fmt, e.into()),
    };
    if one.is_some() && rows.is_empty() {
        return format::error(
            fmt,
            404,
            "service_request_id 不存在 / service_request_id not found",
        );
    }
    let items = rows
        .iter()
        .map(|r| {
            let status = Status::parse(&r.get::<String, _>(1)).unwrap_or(Status::Submitted);
            let owner = ch
                .as_ref()
                .map(|c| c.name == r.get::<String, _>(2))
                .unwrap_or(false);
            let reply: String = r.get(12);
            let notes = if owner && !reply.is_empty() {
                reply
            } else {
                format!("{} / {}", status.label_zh(), status.label_en())
            };
            let private = |v: V| if owner { v } else { V::Null };
            let num = |x: Option<f64>| x.map(V::F).unwrap_or(V::Null);
            let address: String = r.get(6);
            V::Obj(vec![
                ("service_request_id", s(r.get::<String, _>(0))),
                (
                    "status",
                    s(if status.is_open() { "open" } else { "closed" }),
                ),
                ("status_notes", s(notes)),
                ("service_name", opt(r.get(4))),
                (
                    "service_code",
                    s(r.get::<Option<i64>, _>(3)
                        .map(|c| c.to_string())
                        .unwrap_or_default()),
                ),
                ("description", private(s(r.get::<String, _>(5)))),
                ("agency_responsible", V::Null),
                ("service_notice", V::Null),
                ("requested_datetime", s(rfc3339_china(r.get(9)))),
                ("updated_datetime", s(rfc3339_china(r.get(10)))),
                (
                    "expected_datetime",
                    opt(r.get::<Option<i64>, _>(11).map(rfc3339_china)),
                ),
                (
                    "address",
                    private(if address.is_empty() {
                        V::Null
                    } else {
                        s(address)
                    }),
                ),
                ("address_id", V::Null),
                ("zipcode", V::Null),
                ("lat", private(num(r.get(7)))),
                ("long", private(num(r.get(8)))),
                ("media_url", V::Null),
            ])
        })
        .collect();
    format::ok(fmt, "service_requests", &V::List("request", items))
}

async fn get_request(
    Extension(o): Extension<Opinions>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some((id, fmt)) = format::split(&file) else {
        return not_found(Fmt::Json);
    };
    let p = params(q.as_deref(), &[]);
    requests(&o, fmt, &p, Some(id)).await
}

/// Items are created at once, so a token is the service_request_id itself.
async fn get_token(Extension(o): Extension<Opinions>, Path(file): Path<String>) -> Response {
    let Some((token, fmt)) = format::split(&file) else {
        return not_found(Fmt::Json);
    };
    let found = sqlx::query(
        "SELECT tracking_no FROM opinions WHERE tracking_no = $1 AND channel = 'external'",
    )
    .bind(token.trim())
    .fetch_optional(o.db.pool())
    .await;
    match found {
        Ok(Some(r)) => {
            let id: String = r.get(0);
            let v = V::List(
                "request",
                vec![V::Obj(vec![
                    ("service_request_id", s(&id)),
                    ("token", s(&id)),
                ])],
            );
            format::ok(fmt, "service_requests", &v)
        }
        Ok(None) => format::error(fmt, 404, "token 不存在 / token not found"),
        Err(e) => format::from_app(fmt, e.into()),
    }
}
