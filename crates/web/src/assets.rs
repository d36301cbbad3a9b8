//! Stylesheet, script and icons compiled into the binary and served with a content hash
//! in the URL, so browsers cache them forever and a new release is fetched at once.
//! Nothing loads from a CDN: government intranets are often cut off from the internet.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

static ASSETS: &[Asset] = &[
    Asset {
        name: "yidu.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/yidu.css"),
    },
    Asset {
        name: "yidu.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/yidu.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../assets/favicon.svg"),
    },
];

fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = Sha256::new();
        for a in ASSETS {
            h.update(a.bytes);
        }
        hex::encode(&h.finalize()[..6])
    })
}

pub fn url(name: &str) -> String {
    format!("/assets/{}/{name}", version())
}

pub fn css_url() -> String {
    url("yidu.css")
}

pub fn js_url() -> String {
    url("yidu.js")
}

/// `GET /assets/{version}/{name}`
pub async fn serve(Path((ver, name)): Path<(String, String)>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cache = if ver == version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, cache),
        ],
        asset.bytes,
    )
        .into_response()
}
