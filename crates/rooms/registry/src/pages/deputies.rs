//! Deputy pages: list, detail (with photo upload), create, edit, retire.

use super::*;
use crate::model::{Deputy, DeputyInput, DeputyLevel, DeputyPatch, Gender};
use crate::service::deputies::{self as svc, DeputyFilter};
use crate::service::stations::StationFilter;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::header;
use yidu_kernel::{Lang, PageQuery};
use yidu_web::form::PageForm;

fn level_choices(en: bool, selected: &[String]) -> Vec<Choice> {
    word_choices(
        DeputyLevel::ALL,
        DeputyLevel::as_str,
        DeputyLevel::label_zh,
        DeputyLevel::label_en,
        en,
        selected,
    )
}

#[derive(Template)]
#[template(path = "reg_deputies.html")]
struct ListPage {
    shell: Shell,
    filter: DeputyFilter,
    q: String,
    levels: Vec<Choice>,
    regions: Vec<Choice>,
    stations: Vec<Choice>,
    items: Vec<Deputy>,
    pager: Pager,
    manages: bool,
    export_href: String,
}

pub async fn list(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Query(filter): Query<DeputyFilter>,
    Query(q): Query<PageQuery>,
    Query(fq): Query<FlashQuery>,
) -> PageResult {
    let p = &user.principal;
    let page = svc::list(&state.db, p, &filter, &q).await?;
    let regions = crate::service::regions::all(&state.db, p, &Default::default())
        .await?
        .into_iter()
        .filter(|r| r.level != crate::model::RegionLevel::Grid)
        .collect::<Vec<_>>();
    let stations = crate::service::stations::all(&state.db, p, &StationFilter::default())
        .await
        .unwrap_or_default();
    let filters = [
        ("region", opt_id_str(filter.region)),
        ("station", opt_id_str(filter.station)),
        ("level", opt_str(&filter.level)),
        ("q", opt_str(&filter.q)),
        (
            "include_retired",
            if filter.include_retired {
                "true".into()
            } else {
                String::new()
            },
        ),
    ];
    let body = ListPage {
        shell: shell(&meta, &user, "代表", "Deputies", fq.flash.as_deref()),
        levels: level_choices(meta.lang == Lang::En, &[opt_str(&filter.level)]),
        regions: region_choices(&regions, filter.region.unwrap_or(0)),
        stations: stations
            .iter()
            .map(|s| Choice {
                value: s.id.to_string(),
                label: s.name.clone(),
                selected: filter.station == Some(s.id),
            })
            .collect(),
        q: opt_str(&filter.q),
        pager: Pager::new("/staff/deputies", &filters, &page),
        export_href: Pager::export_href("deputies", &filters[..4]),
        items: page.items,
        filter,
        manages: manages(p),
    };
    render(body, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "reg_deputy.html")]
struct DetailPage {
    shell: Shell,
    d: Deputy,
    may_edit: bool,
}

pub async fn detail(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    Query(fq): Query<FlashQuery>,
) -> PageResult {
    let p = &user.principal;
    let d = svc::get(&state.db, p, id).await?;
    let body = DetailPage {
        shell: shell(
            &meta,
            &user,
            &d.name.clone(),
            &d.name.clone(),
            fq.flash.as_deref(),
        ),
        may_edit: svc::may_edit(p, &d) && !d.retired,
        d,
    };
    render(body, StatusCode::OK)
}

#[derive(Debug, Default)]
pub struct DeputyForm {
    pub region_id: String,
    pub name: String,
    pub gender: String,
    pub levels: Vec<String>,
    pub term: String,
    pub sector: String,
    pub duties: String,
    pub phone: String,
    pub station_ids: Vec<String>,
}

#[derive(Template)]
#[template(path = "reg_deputy_form.html")]
struct FormPage {
    shell: Shell,
    editing: Option<Deputy>,
    form: DeputyForm,
    regions: Vec<Choice>,
    genders: Vec<Choice>,
    levels: Vec<Choice>,
    stations: Vec<Choice>,
    errors: Vec<FieldError>,
}

async fn form_page(
    state: &AppState,
    meta: &RequestMeta,
    user: &PageUser,
    editing: Option<Deputy>,
    form: DeputyForm,
    errors: Vec<FieldError>,
) -> PageResult {
    let p = &user.principal;
    let regions = crate::service::regions::choices(&state.db, p, false).await?;
    let stations = crate::service::stations::all(&state.db, p, &StationFilter::default()).await?;
    let en = meta.lang == Lang::En;
    let (zh, en_title) = if editing.is_some() {
        ("修改代表", "Edit deputy")
    } else {
        ("新增代表", "New deputy")
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = FormPage {
        shell: shell(meta, user, zh, en_title, None),
        regions: region_choices(&regions, form.region_id.parse().unwrap_or(0)),
        genders: word_choices(
            Gender::ALL,
            Gender::as_str,
            Gender::label_zh,
            Gender::label_en,
            en,
            std::slice::from_ref(&form.gender),
        ),
        levels: level_choices(en, &form.levels),
        stations: stations
            .iter()
            .map(|s| Choice {
                value: s.id.to_string(),
                label: format!("{}（{}）", s.name, s.region.name),
                selected: form.station_ids.contains(&s.id.to_string()),
            })
            .collect(),
        editing,
        form,
        errors,
    };
    render(body, status)
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    region: Option<String>,
    station: Option<String>,
}

pub async fn new_form(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Query(nq): Query<NewQuery>,
) -> PageResult {
    let form = DeputyForm {
        region_id: nq.region.unwrap_or_default(),
        station_ids: nq.station.into_iter().collect(),
        ..Default::default()
    };
    form_page(&state, &meta, &user, None, form, Vec::new()).await
}

fn form_of(f: &Fields) -> DeputyForm {
    DeputyForm {
        region_id: f.get("region_id"),
        name: f.get("name"),
        gender: f.get("gender"),
        levels: f.all("levels"),
        term: f.get("term"),
        sector: f.get("sector"),
        duties: f.get("duties"),
        phone: f.get("phone"),
        station_ids: f.all("station_ids"),
    }
}

fn station_ids(form: &DeputyForm) -> Vec<i64> {
    form.station_ids
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

pub async fn create(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let form = form_of(&Fields(pairs));
    let input = DeputyInput {
        region_id: form.region_id.parse().unwrap_or(0),
        name: form.name.clone(),
        gender: form.gender.clone(),
        levels: form.levels.clone(),
        term: form.term.clone(),
        sector: form.sector.clone(),
        duties: form.duties.clone(),
        phone: form.phone.clone(),
        station_ids: station_ids(&form),
        code: None,
    };
    match svc::create(&state.db, &user.principal, &meta.client, input).await {
        Ok(d) => done(&format!("/staff/deputies/{}", d.id), "created"),
        Err(e) => form_page(&state, &meta, &user, None, form, form_errors(e)?).await,
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let d = svc::get(&state.db, &user.principal, id).await?;
    let form = DeputyForm {
        region_id: d.region.id.to_string(),
        name: d.name.clone(),
        gender: d.gender.map(|g| g.as_str().to_string()).unwrap_or_default(),
        levels: d.levels.iter().map(|l| l.as_str().to_string()).collect(),
        term: d.term.clone(),
        sector: d.sector.clone(),
        duties: d.duties.clone(),
        phone: d.phone.clone().unwrap_or_default(),
        station_ids: d.stations.iter().map(|s| s.id.to_string()).collect(),
    };
    form_page(&state, &meta, &user, Some(d), form, Vec::new()).await
}

pub async fn update(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let form = form_of(&Fields(pairs));
    let patch = DeputyPatch {
        region_id: form.region_id.parse().ok(),
        name: Some(form.name.clone()),
        gender: Some(form.gender.clone()),
        levels: Some(form.levels.clone()),
        term: Some(form.term.clone()),
        sector: Some(form.sector.clone()),
        duties: Some(form.duties.clone()),
        phone: Some(form.phone.clone()),
        station_ids: Some(station_ids(&form)),
    };
    match svc::update(&state.db, &user.principal, &meta.client, id, patch).await {
        Ok(_) => done(&format!("/staff/deputies/{id}"), "saved"),
        Err(e) => {
            let errors = form_errors(e)?;
            let d = svc::get(&state.db, &user.principal, id).await?;
            form_page(&state, &meta, &user, Some(d), form, errors).await
        }
    }
}

pub async fn retire(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    svc::retire(&state.db, &user.principal, &meta.client, id).await?;
    done(&format!("/staff/deputies/{id}"), "retired")
}

pub async fn photo(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let (content_type, bytes) = svc::photo(&state.db, &user.principal, id).await?;
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// Multipart upload of the `photo` field (the CSRF token rides in the query string).
pub async fn upload_photo(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    mut multipart: Multipart,
) -> PageResult {
    let mut bytes: Option<Vec<u8>> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("上传的内容无法读取", "The upload could not be read"))?
    {
        if field.name() == Some("photo") {
            let data = field.bytes().await.map_err(|_| {
                AppError::field(
                    "photo",
                    "照片不能超过 2 MB",
                    "the photo must be at most 2 MB",
                )
            })?;
            bytes = Some(data.to_vec());
        }
    }
    let bytes = bytes.unwrap_or_default();
    svc::set_photo(&state.db, &user.principal, &meta.client, id, &bytes).await?;
    done(&format!("/staff/deputies/{id}"), "photo")
}

pub async fn delete_photo(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    svc::delete_photo(&state.db, &user.principal, &meta.client, id).await?;
    done(&format!("/staff/deputies/{id}"), "photo")
}
