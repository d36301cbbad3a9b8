//! Paginated lists: one query shape and one response shape for every list endpoint.

use serde::{Deserialize, Serialize};

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 500;

#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// 1-based page number.
    pub page: Option<u32>,
    /// Items per page (at most 500).
    pub per_page: Option<u32>,
}

impl PageQuery {
    pub fn page(&self) -> u32 {
        self.page.unwrap_or(1).max(1)
    }
    pub fn per_page(&self) -> u32 {
        self.per_page
            .unwrap_or(DEFAULT_PER_PAGE)
            .clamp(1, MAX_PER_PAGE)
    }
    pub fn offset(&self) -> i64 {
        (self.page() as i64 - 1) * self.per_page() as i64
    }
    pub fn limit(&self) -> i64 {
        self.per_page() as i64
    }
}

impl Default for PageQuery {
    fn default() -> Self {
        PageQuery {
            page: Some(1),
            per_page: Some(DEFAULT_PER_PAGE),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    /// True when `total` is only a lower bound: a search counts its matches up to a cap
    /// (shown as "10000+").
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub total_capped: bool,
    pub page: u32,
    pub per_page: u32,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, total: i64, q: &PageQuery) -> Self {
        Page {
            items,
            total,
            total_capped: false,
            page: q.page(),
            per_page: q.per_page(),
        }
    }
    /// A page whose `total` is a lower bound (more items matched than were counted).
    pub fn capped(items: Vec<T>, total: i64, q: &PageQuery) -> Self {
        Page {
            total_capped: true,
            ..Page::new(items, total, q)
        }
    }
    pub fn pages(&self) -> u32 {
        ((self.total.max(0) as u64).div_ceil(self.per_page as u64)).max(1) as u32
    }
}
