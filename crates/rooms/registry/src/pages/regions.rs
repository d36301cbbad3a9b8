//! Region pages: list (table or tree), detail, create, edit, retire.

use super::*;
use crate::model::{Region, RegionInput, RegionLevel, RegionNode, RegionPatch};
use crate::service::regions::{self as svc, RegionFilter};
use axum::extract::{Path, Query, State};
use yidu_kernel::PageQuery;
use yidu_web::form::PageForm;

#[derive(Debug, Default, Deserialize)]
pub struct ViewQuery {
    view: Option<String>,
}

/// A line of the tree view: indentation and the node.
pub struct TreeLine {
    pub pad: String,
    pub id: i64,
    pub name: String,
    pub level: RegionLevel,
}

fn flatten(nodes: &[RegionNode], depth: usize, out: &mut Vec<TreeLine>) {
    for n in nodes {
        out.push(TreeLine {
            pad: "　　".repeat(depth),
            id: n.id,
            name: n.name.clone(),
            level: n.level,
        });
        flatten(&n.children, depth + 1, out);
    }
}

#[derive(Template)]
#[template(path = "reg_regions.html")]
struct ListPage {
    shell: Shell,
    filter: RegionFilter,
    q: String,
    levels: Vec<Choice>,
    unders: Vec<Choice>,
    items: Vec<Region>,
    tree: Vec<TreeLine>,
    tree_view: bool,
    pager: Pager,
    manages: bool,
    export_href: String,
}

pub async fn list(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Query(filter): Query<RegionFilter>,
    Query(q): Query<PageQuery>,
    Query(view): Query<ViewQuery>,
    Query(fq): Query<FlashQuery>,
) -> PageResult {
    let p = &user.principal;
    let tree_view = view.view.as_deref() == Some("tree");
    let page = svc::list(&state.db, p, &filter, &q).await?;
    let mut tree = Vec::new();
    if tree_view {
        flatten(&svc::tree(&state.db, p).await?, 0, &mut tree);
    }
    let all = svc::all(&state.db, p, &RegionFilter::default()).await?;
    let unders: Vec<Region> = all
        .into_iter()
        .filter(|r| r.level != RegionLevel::Grid)
        .collect();
    let filters = [
        ("under", opt_id_str(filter.under)),
        ("parent", opt_id_str(filter.parent)),
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
    let en = meta.lang == yidu_kernel::Lang::En;
    let body = ListPage {
        shell: shell(&meta, &user, "区域", "Regions", fq.flash.as_deref()),
        levels: word_choices(
            RegionLevel::ALL,
            RegionLevel::as_str,
            RegionLevel::label_zh,
            RegionLevel::label_en,
            en,
            &[opt_str(&filter.level)],
        ),
        unders: region_choices(&unders, filter.under.unwrap_or(0)),
        q: opt_str(&filter.q),
        pager: Pager::new("/staff/regions", &filters, &page),
        export_href: Pager::export_href(
            "regions",
            &[
                ("region", opt_id_str(filter.under)),
                ("level", opt_str(&filter.level)),
                ("q", opt_str(&filter.q)),
            ],
        ),
        items: page.items,
        filter,
        tree,
        tree_view,
        manages: manages(p),
    };
    render(body, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "reg_region.html")]
struct DetailPage {
    shell: Shell,
    r: Region,
    children: Vec<Region>,
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
    let r = svc::get(&state.db, p, id).await?;
    let children = svc::all(
        &state.db,
        p,
        &RegionFilter {
            parent: Some(id),
            include_retired: true,
            ..Default::default()
        },
    )
    .await?;
    let may_edit = p.manages_registry_at(&r.path) && !r.retired;
    let body = DetailPage {
        shell: shell(
            &meta,
            &user,
            &r.name.clone(),
            &r.name.clone(),
            fq.flash.as_deref(),
        ),
        may_retire: may_edit && (p.is_admin() || r.path != p.scope_path),
        may_edit,
        r,
        children,
    };
    render(body, StatusCode::OK)
}

/// The values shown in the region form.
#[derive(Debug, Default)]
pub struct RegionForm {
    pub parent_id: String,
    pub level: String,
    pub name: String,
    pub division_code: String,
    pub geojson: String,
}

#[derive(Template)]
#[template(path = "reg_region_form.html")]
struct FormPage {
    shell: Shell,
    /// None: a new region; Some: the region being edited.
    editing: Option<Region>,
    form: RegionForm,
    parents: Vec<Choice>,
    levels: Vec<Choice>,
    errors: Vec<FieldError>,
    may_be_root: bool,
}

async fn form_page(
    state: &AppState,
    meta: &RequestMeta,
    user: &PageUser,
    editing: Option<Region>,
    form: RegionForm,
    errors: Vec<FieldError>,
) -> PageResult {
    let p = &user.principal;
    let parents = svc::choices(&state.db, p, false).await?;
    let en = meta.lang == yidu_kernel::Lang::En;
    let (zh, en_title) = if editing.is_some() {
        ("修改区域", "Edit region")
    } else {
        ("新建区域", "New region")
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = FormPage {
        shell: shell(meta, user, zh, en_title, None),
        parents: region_choices(&parents, form.parent_id.parse().unwrap_or(0)),
        levels: word_choices(
            RegionLevel::ALL,
            RegionLevel::as_str,
            RegionLevel::label_zh,
            RegionLevel::label_en,
            en,
            std::slice::from_ref(&form.level),
        ),
        may_be_root: p.is_admin(),
        editing,
        form,
        errors,
    };
    render(body, status)
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    parent: Option<String>,
}

pub async fn new_form(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Query(nq): Query<NewQuery>,
) -> PageResult {
    let form = RegionForm {
        parent_id: nq.parent.unwrap_or_default(),
        ..Default::default()
    };
    form_page(&state, &meta, &user, None, form, Vec::new()).await
}

fn form_of(f: &Fields) -> RegionForm {
    RegionForm {
        parent_id: f.get("parent_id"),
        level: f.get("level"),
        name: f.get("name"),
        division_code: f.get("division_code"),
        geojson: f.get("geojson"),
    }
}

pub async fn create(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let form = form_of(&Fields(pairs));
    let input = RegionInput {
        parent_id: form.parent_id.parse().ok(),
        level: form.level.clone(),
        name: form.name.clone(),
        division_code: Some(form.division_code.clone()),
        geojson: Some(form.geojson.clone()),
    };
    match svc::create(&state.db, &user.principal, &meta.client, input).await {
        Ok(r) => done(&format!("/staff/regions/{}", r.id), "created"),
        Err(e) => form_page(&state, &meta, &user, None, form, form_errors(e)?).await,
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let r = svc::get(&state.db, &user.principal, id).await?;
    let form = RegionForm {
        parent_id: opt_id_str(r.parent_id),
        level: r.level.as_str().to_string(),
        name: r.name.clone(),
        division_code: r.division_code.clone().unwrap_or_default(),
        geojson: r.geojson.clone().unwrap_or_default(),
    };
    form_page(&state, &meta, &user, Some(r), form, Vec::new()).await
}

pub async fn update(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let form = form_of(&Fields(pairs));
    let patch = RegionPatch {
        name: Some(form.name.clone()),
        division_code: Some(form.division_code.clone()),
        geojson: Some(form.geojson.clone()),
    };
    match svc::update(&state.db, &user.principal, &meta.client, id, patch).await {
        Ok(_) => done(&format!("/staff/regions/{id}"), "saved"),
        Err(e) => {
            let errors = form_errors(e)?;
            let r = svc::get(&state.db, &user.principal, id).await?;
            form_page(&state, &meta, &user, Some(r), form, errors).await
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
    done(&format!("/staff/regions/{id}"), "retired")
}
