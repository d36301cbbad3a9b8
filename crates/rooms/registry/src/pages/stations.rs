//! Station pages: list, detail (with its deputies), create, edit (station staff edit
//! their own station's schedule only), retire.

use super::*;
use crate::model::{Deputy, Partner, Station, StationInput, StationKind, StationPatch};
use crate::service::deputies::DeputyFilter;
use crate::service::stations::{self as svc, StationFilter};
use axum::extract::{Path, Query, State};
use yidu_kernel::{Lang, PageQuery};
use yidu_web::form::PageForm;

fn kind_choices(en: bool, selected: &str) -> Vec<Choice> {
    word_choices(
        StationKind::ALL,
        StationKind::as_str,
        StationKind::label_zh,
        StationKind::label_en,
        en,
        &[selected.to_string()],
    )
}

#[derive(Template)]
#[template(path = "reg_stations.html")]
struct ListPage {
    shell: Shell,
    filter: StationFilter,
    q: String,
    kinds: Vec<Choice>,
    regions: Vec<Choice>,
    items: Vec<Station>,
    pager: Pager,
    manages: bool,
    export_href: String,
}

pub async fn list(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Query(filter): Query<StationFilter>,
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
    let filters = [
        ("region", opt_id_str(filter.region)),
        ("kind", opt_str(&filter.kind)),
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
        shell: shell(&meta, &user, "联络站", "Stations", fq.flash.as_deref()),
        kinds: kind_choices(meta.lang == Lang::En, &opt_str(&filter.kind)),
        regions: region_choices(&regions, filter.region.unwrap_or(0)),
        q: opt_str(&filter.q),
        pager: Pager::new("/staff/stations", &filters, &page),
        export_href: Pager::export_href("stations", &filters[..3]),
        items: page.items,
        filter,
        manages: manages(p),
    };
    render(body, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "reg_station.html")]
struct DetailPage {
    shell: Shell,
    s: Station,
    deputies: Vec<Deputy>,
    may_edit: bool,
    may_retire: bool,
}

pub async fn detail(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    Query(fq): Query<FlashQuery>,
) -> PageResult {
    let p = &user.principal;
    let s = svc::get(&state.db, p, id).await?;
    let filter = DeputyFilter {
        station: Some(id),
        ..Default::default()
    };
    let deputies = crate::service::deputies::all(&state.db, p, &filter)
        .await
        .unwrap_or_default();
    let body = DetailPage {
        shell: shell(
            &meta,
            &user,
            &s.name.clone(),
            &s.name.clone(),
            fq.flash.as_deref(),
        ),
        may_edit: svc::may_edit(p, &s) && !s.retired,
        may_retire: p.manages_registry_at(&s.region.path) && !s.retired,
        deputies,
        s,
    };
    render(body, StatusCode::OK)
}

#[derive(Debug, Default)]
pub struct StationForm {
    pub region_id: String,
    pub kind: String,
    pub name: String,
    pub address: String,
    pub opening_hours: String,
    pub reception_schedule: String,
    pub partners: Vec<String>,
}

#[derive(Template)]
#[template(path = "reg_station_form.html")]
struct FormPage {
    shell: Shell,
    editing: Option<Station>,
    /// Only the schedule may be changed (station staff on their own station).
    schedule_only: bool,
    form: StationForm,
    regions: Vec<Choice>,
    kinds: Vec<Choice>,
    partners: Vec<Choice>,
    errors: Vec<FieldError>,
}

async fn form_page(
    state: &AppState,
    meta: &RequestMeta,
    user: &PageUser,
    editing: Option<Station>,
    form: StationForm,
    errors: Vec<FieldError>,
) -> PageResult {
    let p = &user.principal;
    let schedule_only = editing
        .as_ref()
        .is_some_and(|s| !p.manages_registry_at(&s.region.path));
    let regions = if schedule_only {
        Vec::new()
    } else {
        crate::service::regions::choices(&state.db, p, false).await?
    };
    let en = meta.lang == Lang::En;
    let (zh, en_title) = if editing.is_some() {
        ("修改联络站", "Edit station")
    } else {
        ("新建联络站", "New station")
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = FormPage {
        shell: shell(meta, user, zh, en_title, None),
        regions: region_choices(&regions, form.region_id.parse().unwrap_or(0)),
        kinds: kind_choices(en, &form.kind),
        partners: word_choices(
            Partner::ALL,
            Partner::as_str,
            Partner::label_zh,
            Partner::label_en,
            en,
            &form.partners,
        ),
        schedule_only,
        editing,
        form,
        errors,
    };
    render(body, status)
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    region: Option<String>,
}

pub async fn new_form(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Query(nq): Query<NewQuery>,
) -> PageResult {
    let form = StationForm {
        region_id: nq.region.unwrap_or_default(),
        kind: "station".into(),
        ..Default::default()
    };
    form_page(&state, &meta, &user, None, form, Vec::new()).await
}

fn form_of(f: &Fields) -> StationForm {
    StationForm {
        region_id: f.get("region_id"),
        kind: f.get("kind"),
        name: f.get("name"),
        address: f.get("address"),
        opening_hours: f.get("opening_hours"),
        reception_schedule: f.get("reception_schedule"),
        partners: f.all("partners"),
    }
}

pub async fn create(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let form = form_of(&Fields(pairs));
    let input = StationInput {
        region_id: form.region_id.parse().unwrap_or(0),
        kind: form.kind.clone(),
        name: form.name.clone(),
        address: form.address.clone(),
        opening_hours: form.opening_hours.clone(),
        reception_schedule: form.reception_schedule.clone(),
        partners: form.partners.clone(),
        code: None,
    };
    match svc::create(&state.db, &user.principal, &meta.client, input).await {
        Ok(s) => done(&format!("/staff/stations/{}", s.id), "created"),
        Err(e) => form_page(&state, &meta, &user, None, form, form_errors(e)?).await,
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let s = svc::get(&state.db, &user.principal, id).await?;
    let form = StationForm {
        region_id: s.region.id.to_string(),
        kind: s.kind.as_str().into(),
        name: s.name.clone(),
        address: s.address.clone(),
        opening_hours: s.opening_hours.clone(),
        reception_schedule: s.reception_schedule.clone(),
        partners: s.partners.iter().map(|p| p.as_str().to_string()).collect(),
    };
    form_page(&state, &meta, &user, Some(s), form, Vec::new()).await
}

pub async fn update(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let p = &user.principal;
    let current = svc::get(&state.db, p, id).await?;
    let form = form_of(&Fields(pairs));
    let patch = if p.manages_registry_at(&current.region.path) {
        StationPatch {
            region_id: form.region_id.parse().ok(),
            kind: Some(form.kind.clone()),
            name: Some(form.name.clone()),
            address: Some(form.address.clone()),
            opening_hours: Some(form.opening_hours.clone()),
            reception_schedule: Some(form.reception_schedule.clone()),
            partners: Some(form.partners.clone()),
        }
    } else {
        StationPatch {
            opening_hours: Some(form.opening_hours.clone()),
            reception_schedule: Some(form.reception_schedule.clone()),
            ..Default::default()
        }
    };
    match svc::update(&state.db, p, &meta.client, id, patch).await {
        Ok(_) => done(&format!("/staff/stations/{id}"), "saved"),
        Err(e) => form_page(&state, &meta, &user, Some(current), form, form_errors(e)?).await,
    }
}

pub async fn retire(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    svc::retire(&state.db, &user.principal, &meta.client, id).await?;
    done(&format!("/staff/stations/{id}"), "retired")
}
