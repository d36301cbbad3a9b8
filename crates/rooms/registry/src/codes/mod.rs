//! The two codes (两码): every deputy and every liaison station has a stable public code,
//! printed as a QR code on badges and station doors. Scanning it opens a public page
//! (no login, phone first) that shows who the deputy is and what they do (亮身份、亮职责),
//! or where the station is, when it receives voters and which deputies serve there.
//!
//! Routes (all in [`public_router`]):
//! - `GET /c/d/{code}`, `GET /c/s/{code}`: the public pages (unknown or retired → 404 page)
//! - `GET /c/d/{code}/photo`: the deputy's photo, or a placeholder with the surname
//! - `GET /c/{d|s}/{code}/qr.svg`, `.../qr.png`: QR codes of `{public_url}/c/{d|s}/{code}`
//! - `GET /staff/stations/{id}/badges`: A4 sheet of badges, eight per page
//! - `GET /staff/codes/d/{code}`, `GET /staff/codes/s/{code}`: one printable code card
//!
//! Public pages never show contact data: the SQL in [`store`] does not even select it.
//! Citizens' forms (the next issue) attach to the pages through the `citizen_actions`
//! block in `code_deputy.html` and `code_station.html`.

pub mod labels;
pub mod pages;
pub mod qr;
pub mod store;

use axum::routing::get;
use axum::Router;
use yidu_web::AppState;

pub use store::CodeKind;

/// Every route of the two codes; the app merges it with the other rooms' routers.
pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/c/d/{code}", get(pages::deputy_page))
        .route("/c/d/{code}/photo", get(pages::deputy_photo))
        .route("/c/d/{code}/qr.svg", get(pages::deputy_qr_svg))
        .route("/c/d/{code}/qr.png", get(pages::deputy_qr_png))
        .route("/c/s/{code}", get(pages::station_page))
        .route("/c/s/{code}/qr.svg", get(pages::station_qr_svg))
        .route("/c/s/{code}/qr.png", get(pages::station_qr_png))
        .route("/staff/stations/{id}/badges", get(pages::station_badges))
        .route("/staff/codes/d/{code}", get(pages::deputy_card))
        .route("/staff/codes/s/{code}", get(pages::station_card))
}

/// The absolute public URL a code's QR carries, e.g. `https://yidu.example.gov.cn/c/d/7KX3M9QA`.
pub fn public_link(public_url: &str, kind: CodeKind, code: &str) -> String {
    format!(
        "{}/c/{}/{}",
        public_url.trim_end_matches('/'),
        kind.letter(),
        code
    )
}

/// Codes are short ASCII words; anything else cannot be a code and is not looked up.
pub fn plausible_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
