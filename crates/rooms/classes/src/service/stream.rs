//! Clustering a district's window without holding it: the window (every open item plus the
//! last `window_days`; some 300,000 items in a million-item district) is read a page at a
//! time, once to fit the IDF table, once to cluster, and once more for the summaries of the
//! clusters that may become classes. Only the clusterer, the item ids and a compact place
//! of each item stay in memory. The CPU work of each page runs on a blocking thread, and
//! every step checks a [`Stop`] so a shutting-down server does not wait for a rebuild.

use super::Classes;
use std::collections::HashMap;
use yidu_kernel::{AppError, AppResult};
use yidu_opinions::service::feed::{self, FeedItem, WINDOW_PAGE};
use yidu_text::cli::clustering_text;
use yidu_text::{ClusterSummary, Clusterer, IdfCounter};

/// The stop flag every step checks; the text room's, shared with model training.
pub use yidu_text::Stop;

/// Items clustered between two checks of the stop flag (a few ms of work).
const CHECK_EVERY: usize = 32;

pub(crate) fn text_of(i: &FeedItem) -> String {
    clustering_text(Some(&i.title), &i.body)
}

/// Where a clustered item lies, as much as placing it needs; the region path is an index
/// into [`Window::regions`] (a district has a few hundred paths, not one per item).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    pub id: i64,
    pub region: u32,
    pub grid_id: Option<i64>,
    pub created_at: i64,
}

/// The clustered window.
pub(crate) struct Window {
    pub clusterer: Clusterer,
    /// Item number (insertion order) -> place; ascending ids.
    pub places: Vec<Place>,
    pub regions: Vec<String>,
}

impl Window {
    pub fn ids(&self) -> Vec<i64> {
        self.places.iter().map(|p| p.id).collect()
    }
}

/// Runs `work` on a blocking thread (clustering is CPU work; the async threads serve pages).
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(AppError::internal)
}

/// The window, a page at a time, in id order; ends early when stopped.
struct Pages<'a> {
    c: &'a Classes,
    district_id: i64,
    since: i64,
    stop: &'a Stop,
    after: i64,
    finished: bool,
}

impl<'a> Pages<'a> {
    fn new(c: &'a Classes, district_id: i64, since: i64, stop: &'a Stop) -> Pages<'a> {
        Pages {
            c,
            district_id,
            since,
            stop,
            after: 0,
            finished: false,
        }
    }

    async fn next(&mut self) -> AppResult<Option<Vec<FeedItem>>> {
        if self.finished || self.stop.is_stopped() {
            return Ok(None);
        }
        let page = feed::window_page(
            &self.c.opinions,
            self.district_id,
            self.since,
            self.after,
            WINDOW_PAGE,
        )
        .await?;
        self.finished = (page.len() as i64) < WINDOW_PAGE;
        match page.last() {
            Some(last) => self.after = last.id,
            None => return Ok(None),
        }
        Ok(Some(page))
    }
}

/// Fits the IDF table on the window and clusters it, both streamed. `None` when stopped.
pub(crate) async fn cluster_window(
    c: &Classes,
    district_id: i64,
    since: i64,
    stop: &Stop,
) -> AppResult<Option<Window>> {
    let segmenter = c.opinions.segmenter.clone();
    // Pass 1: document frequencies, and which items the window holds (the second pass
    // clusters only these, so items that arrive meanwhile are left to the worker).
    let mut counter = IdfCounter::new();
    let mut fitted: Vec<i64> = Vec::new();
    let mut pages = Pages::new(c, district_id, since, stop);
    while let Some(page) = pages.next().await? {
        fitted.extend(page.iter().map(|i| i.id));
        let texts: Vec<String> = page.iter().map(text_of).collect();
        drop(page);
        let (seg, st) = (segmenter.clone(), stop.clone());
        counter = blocking(move || {
            for (n, text) in texts.iter().enumerate() {
                if n % CHECK_EVERY == 0 && st.is_stopped() {
                    break;
                }
                counter.add(text, &seg);
            }
            counter
        })
        .await?;
    }
    if stop.is_stopped() {
        return Ok(None);
    }
    let idf = counter.finish();

    // Pass 2: the clustering itself, in id order.
    let mut clusterer = Clusterer::new((*segmenter).clone(), idf, c.config.params.clone());
    let mut places: Vec<Place> = Vec::with_capacity(fitted.len());
    let mut regions: Vec<String> = Vec::new();
    let mut region_index: HashMap<String, u32> = HashMap::new();
    let mut pages = Pages::new(c, district_id, since, stop);
    while let Some(page) = pages.next().await? {
        let mut texts: Vec<String> = Vec::with_capacity(page.len());
        for i in page {
            if fitted.binary_search(&i.id).is_err() {
                continue;
            }
            let region = match region_index.get(&i.region_path) {
                Some(&r) => r,
                None => {
                    let r = regions.len() as u32;
                    region_index.insert(i.region_path.clone(), r);
                    regions.push(i.region_path.clone());
                    r
                }
            };
            places.push(Place {
                id: i.id,
                region,
                grid_id: i.grid_id,
                created_at: i.created_at,
            });
            texts.push(text_of(&i));
        }
        let st = stop.clone();
        clusterer = blocking(move || {
            for (n, text) in texts.iter().enumerate() {
                if n % CHECK_EVERY == 0 && st.is_stopped() {
                    break;
                }
                clusterer.add(text);
            }
            clusterer
        })
        .await?;
    }
    if stop.is_stopped() {
        return Ok(None);
    }
    clusterer.shrink_to_fit();
    places.shrink_to_fit();
    Ok(Some(Window {
        clusterer,
        places,
        regions,
    }))
}

/// Summaries (label, most central members) of the given clusters, from a third pass over
/// the window. `None` when stopped.
pub(crate) async fn summarize_window(
    c: &Classes,
    district_id: i64,
    since: i64,
    window: Window,
    clusters: Vec<u32>,
    stop: &Stop,
) -> AppResult<(Window, Option<HashMap<u32, ClusterSummary>>)> {
    if clusters.is_empty() {
        return Ok((window, Some(HashMap::new())));
    }
    let Window {
        mut clusterer,
        places,
        regions,
    } = window;
    let mut builder = clusterer.summary_builder(clusters);
    let mut pages = Pages::new(c, district_id, since, stop);
    while let Some(page) = pages.next().await? {
        let mut wanted: Vec<(usize, String)> = Vec::new();
        for i in &page {
            if let Ok(n) = places.binary_search_by_key(&i.id, |p| p.id) {
                if builder.wants(clusterer.assignment()[n]) {
                    wanted.push((n, text_of(i)));
                }
            }
        }
        drop(page);
        let st = stop.clone();
        (clusterer, builder) = blocking(move || {
            for (k, (n, text)) in wanted.iter().enumerate() {
                if k % CHECK_EVERY == 0 && st.is_stopped() {
                    break;
                }
                clusterer.summarize(&mut builder, *n, text);
            }
            (clusterer, builder)
        })
        .await?;
    }
    let summaries = (!stop.is_stopped()).then(|| clusterer.finish_summaries(builder));
    Ok((
        Window {
            clusterer,
            places,
            regions,
        },
        summaries,
    ))
}
