//! Pages of handling units and working committees. Both are organisations with a region
//! and contacts, so they share templates; a unit also has a kind. A unit's handler (and
//! a committee's staff) may edit their own organisation's contacts.

use super::*;
use crate::model::{
    Committee, CommitteeInput, CommitteePatch, RegionRef, Unit, UnitInput, UnitKind, UnitPatch,
};
use crate::service::units::{self as svc, UnitFilter};
use axum::extract::{Path, Query, State};
use yidu_kernel::{Lang, PageQuery, Principal};
use yidu_web::form::PageForm;

/// What the shared templates show of a unit or committee.
pub struct Org {
    pub id: i64,
    pub name: String,
    pub kind_zh: &'static str,
    pub kind_en: &'static str,
    pub region: RegionRef,
    pub contact_name: String,
    pub contact_phone: String,
    pub retired: bool,
}

impl From<Unit> for Org {
    fn from(u: Unit) -> Org {
        Org {
            id: u.id,
            name: u.name,
            kind_zh: u.kind.label_zh(),
            kind_en: u.kind.label_en(),
            region: u.region,
            contact_name: u.contact_name,
            contact_phone: u.contact_phone,
            retired: u.retired,
        }
    }
}

impl From<Committee> for Org {
    fn from(c: Committee) -> Org {
        Org {
            id: c.id,
            name: c.name,
            kind_zh: "",
            kind_en: "",
            region: c.region,
            contact_name: c.contact_name,
            contact_phone: c.contact_phone,
            retired: c.retired,
        }
    }
}

/// Words of the two kinds of pages.
pub struct Words {
    pub base: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub is_unit: bool,
}

const UNITS: Words = Words {
    base: "/staff/units",
    zh: "承办单位",
    en: "Handling units",
    is_unit: true,
};
const COMMITTEES: Words = Words {
    base: "/staff/committees",
    zh: "工委",
    en: "Working committees",
    is_unit: false,
};

fn kind_choices(en: bool, selected: &str) -> Vec<Choice> {
    word_choices(
        UnitKind::ALL,
        UnitKind::as_str,
        UnitKind::label_zh,
        UnitKind::label_en,
        en,
        &[selected.to_string()],
    )
}

#[derive(Template)]
#[template(path = "reg_orgs.html")]
struct ListPage {
    shell: Shell,
    w: Words,
    filter: UnitFilter,
    q: String,
    kinds: Vec<Choice>,
    regions: Vec<Choice>,
    items: Vec<Org>,
    pager: Pager,
    manages: bool,
    export_href: String,
}

async fn list(
    state: &AppState,
    meta: &RequestMeta,
    user: &PageUser,
    w: Words,
    filter: UnitFilter,
    q: PageQuery,
    flash: Option<&str>,
) -> PageResult {
    let p = &user.principal;
    let (items, page_info): (Vec<Org>, Page<()>) = if w.is_unit {
        let page = svc::list(&state.db, p, &filter, &q).await?;
        let info = Page::new(Vec::new(), page.total, &q);
        (page.items.into_iter().map(Org::from).collect(), info)
    } else {
        let page = svc::list_committees(&state.db, p, &filter, &q).await?;
        let info = Page::new(Vec::new(), page.total, &q);
        (page.items.into_iter().map(Org::from).collect(), info)
    };
    let regions = crate::service::regions::all(&state.db, p, &Default::default())
        .await?
        .into_iter()
        .filter(|r| {
            r.level != crate::model::RegionLevel::Grid
                && r.level != crate::model::RegionLevel::Community
        })
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
        shell: shell(meta, user, w.zh, w.en, flash),
        kinds: kind_choices(meta.lang == Lang::En, &opt_str(&filter.kind)),
        regions: region_choices(&regions, filter.region.unwrap_or(0)),
        q: opt_str(&filter.q),
        pager: Pager::new(w.base, &filters, &page_info),
        export_href: Pager::export_href("units", &filters[..3]),
        items,
        filter,
        manages: manages(p),
        w,
    };
    render(body, StatusCode::OK)
}

pub async fn list_units(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Query(filter): Query<UnitFilter>,
    Query(q): Query<PageQuery>,
    Query(fq): Query<FlashQuery>,
) -> PageResult {
    list(&state, &meta, &user, UNITS, filter, q, fq.flash.as_deref()).await
}

pub async fn list_committees(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Query(filter): Query<UnitFilter>,
    Query(q): Query<PageQuery>,
    Query(fq): Query<FlashQuery>,
) -> PageResult {
    list(
        &state,
        &meta,
        &user,
        COMMITTEES,
        filter,
        q,
        fq.flash.as_deref(),
    )
    .await
}

#[derive(Template)]
#[template(path = "reg_org.html")]
struct DetailPage {
    shell: Shell,
    w: Words,
    o: Org,
    may_edit: bool,
    may_retire: bool,
}

pub async fn unit_detail(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    Query(fq): Query<FlashQuery>,
) -> PageResult {
    let p = &user.principal;
    let u = svc::get(&state.db, p, id).await?;
    let body = DetailPage {
        shell: shell(
            &meta,
            &user,
            &u.name.clone(),
            &u.name.clone(),
            fq.flash.as_deref(),
        ),
        may_edit: svc::may_edit_unit(p, &u) && !u.retired,
        may_retire: p.manages_registry_at(&u.region.path) && !u.retired,
        o: u.into(),
        w: UNITS,
    };
    render(body, StatusCode::OK)
}

pub async fn committee_detail(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    Query(fq): Query<FlashQuery>,
) -> PageResult {
    let p = &user.principal;
    let c = svc::get_committee(&state.db, p, id).await?;
    let body = DetailPage {
        shell: shell(
            &meta,
            &user,
            &c.name.clone(),
            &c.name.clone(),
            fq.flash.as_deref(),
        ),
        may_edit: svc::may_edit_committee(p, &c) && !c.retired,
        may_retire: p.manages_registry_at(&c.region.path) && !c.retired,
        o: c.into(),
        w: COMMITTEES,
    };
    render(body, StatusCode::OK)
}

#[derive(Debug, Default)]
pub struct OrgForm {
    pub region_id: String,
    pub kind: String,
    pub name: String,
    pub contact_name: String,
    pub contact_phone: String,
}

#[derive(Template)]
#[template(path = "reg_org_form.html")]
struct FormPage {
    shell: Shell,
    w: Words,
    /// Id of the organisation being edited.
    editing: Option<i64>,
    contacts_only: bool,
    form: OrgForm,
    regions: Vec<Choice>,
    kinds: Vec<Choice>,
    errors: Vec<FieldError>,
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    meta: &RequestMeta,
    user: &PageUser,
    w: Words,
    editing: Option<i64>,
    contacts_only: bool,
    form: OrgForm,
    errors: Vec<FieldError>,
) -> PageResult {
    let p = &user.principal;
    let regions = if contacts_only {
        Vec::new()
    } else {
        crate::service::regions::choices(&state.db, p, false).await?
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = FormPage {
        shell: shell(meta, user, w.zh, w.en, None),
        regions: region_choices(&regions, form.region_id.parse().unwrap_or(0)),
        kinds: kind_choices(meta.lang == Lang::En, &form.kind),
        w,
        editing,
        contacts_only,
        form,
        errors,
    };
    render(body, status)
}

fn form_of(f: &Fields) -> OrgForm {
    OrgForm {
        region_id: f.get("region_id"),
        kind: f.get("kind"),
        name: f.get("name"),
        contact_name: f.get("contact_name"),
        contact_phone: f.get("contact_phone"),
    }
}

pub async fn new_unit(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
) -> PageResult {
    let form = OrgForm {
        kind: "government_department".into(),
        ..Default::default()
    };
    form_page(&state, &meta, &user, UNITS, None, false, form, Vec::new()).await
}

pub async fn new_committee(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
) -> PageResult {
    form_page(
        &state,
        &meta,
        &user,
        COMMITTEES,
        None,
        false,
        OrgForm::default(),
        Vec::new(),
    )
    .await
}

pub async fn create_unit(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let form = form_of(&Fields(pairs));
    let input = UnitInput {
        region_id: form.region_id.parse().unwrap_or(0),
        kind: form.kind.clone(),
        name: form.name.clone(),
        contact_name: form.contact_name.clone(),
        contact_phone: form.contact_phone.clone(),
    };
    match svc::create(&state.db, &user.principal, &meta.client, input).await {
        Ok(u) => done(&format!("/staff/units/{}", u.id), "created"),
        Err(e) => {
            form_page(
                &state,
                &meta,
                &user,
                UNITS,
                None,
                false,
                form,
                form_errors(e)?,
            )
            .await
        }
    }
}

pub async fn create_committee(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let form = form_of(&Fields(pairs));
    let input = CommitteeInput {
        region_id: form.region_id.parse().unwrap_or(0),
        name: form.name.clone(),
        contact_name: form.contact_name.clone(),
        contact_phone: form.contact_phone.clone(),
    };
    match svc::create_committee(&state.db, &user.principal, &meta.client, input).await {
        Ok(c) => done(&format!("/staff/committees/{}", c.id), "created"),
        Err(e) => {
            form_page(
                &state,
                &meta,
                &user,
                COMMITTEES,
                None,
                false,
                form,
                form_errors(e)?,
            )
            .await
        }
    }
}

fn org_form(o: &Org, kind: &str) -> OrgForm {
    OrgForm {
        region_id: o.region.id.to_string(),
        kind: kind.to_string(),
        name: o.name.clone(),
        contact_name: o.contact_name.clone(),
        contact_phone: o.contact_phone.clone(),
    }
}

pub async fn edit_unit(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let u = svc::get(&state.db, &user.principal, id).await?;
    let only = !user.principal.manages_registry_at(&u.region.path);
    let kind = u.kind.as_str();
    let form = org_form(&Org::from(u.clone()), kind);
    form_page(
        &state,
        &meta,
        &user,
        UNITS,
        Some(id),
        only,
        form,
        Vec::new(),
    )
    .await
}

pub async fn edit_committee(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let c = svc::get_committee(&state.db, &user.principal, id).await?;
    let only = !user.principal.manages_registry_at(&c.region.path);
    let form = org_form(&Org::from(c), "");
    form_page(
        &state,
        &meta,
        &user,
        COMMITTEES,
        Some(id),
        only,
        form,
        Vec::new(),
    )
    .await
}

/// Whether only the contacts may change (the organisation's own staff).
fn contacts_only(p: &Principal, region_path: &str) -> bool {
    !p.manages_registry_at(region_path)
}

pub async fn update_unit(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let p = &user.principal;
    let current = svc::get(&state.db, p, id).await?;
    let only = contacts_only(p, &current.region.path);
    let form = form_of(&Fields(pairs));
    let mut patch = UnitPatch {
        contact_name: Some(form.contact_name.clone()),
        contact_phone: Some(form.contact_phone.clone()),
        ..Default::default()
    };
    if !only {
        patch.region_id = form.region_id.parse().ok();
        patch.kind = Some(form.kind.clone());
        patch.name = Some(form.name.clone());
    }
    match svc::update(&state.db, p, &meta.client, id, patch).await {
        Ok(_) => done(&format!("/staff/units/{id}"), "saved"),
        Err(e) => {
            form_page(
                &state,
                &meta,
                &user,
                UNITS,
                Some(id),
                only,
                form,
                form_errors(e)?,
            )
            .await
        }
    }
}

pub async fn update_committee(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let p = &user.principal;
    let current = svc::get_committee(&state.db, p, id).await?;
    let only = contacts_only(p, &current.region.path);
    let form = form_of(&Fields(pairs));
    let mut patch = CommitteePatch {
        contact_name: Some(form.contact_name.clone()),
        contact_phone: Some(form.contact_phone.clone()),
        ..Default::default()
    };
    if !only {
        patch.region_id = form.region_id.parse().ok();
        patch.name = Some(form.name.clone());
    }
    match svc::update_committee(&state.db, p, &meta.client, id, patch).await {
        Ok(_) => done(&format!("/staff/committees/{id}"), "saved"),
        Err(e) => {
            form_page(
                &state,
                &meta,
                &user,
                COMMITTEES,
                Some(id),
                only,
                form,
                form_errors(e)?,
            )
            .await
        }
    }
}

pub async fn retire_unit(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    svc::retire(&state.db, &user.principal, &meta.client, id).await?;
    done(&format!("/staff/units/{id}"), "retired")
}

pub async fn retire_committee(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    svc::retire_committee(&state.db, &user.principal, &meta.client, id).await?;
    done(&format!("/staff/committees/{id}"), "retired")
}
