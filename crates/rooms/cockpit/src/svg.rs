//! Small server-side SVG charts: horizontal bars, a line with points, and a map of grid
//! polygons shaded by count. No script; every text is escaped.

use std::fmt::Write;

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Horizontal bars, one per (label, value), largest scale = max value.
pub fn bars(title: &str, items: &[(String, i64)]) -> String {
    let row = 26;
    let (label_w, bar_w, w) = (150.0, 330.0, 540);
    let h = 30 + row * items.len().max(1);
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1) as f64;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{t}" class="chart"><title>{t}</title>"#,
        t = esc(title)
    );
    for (i, (label, v)) in items.iter().enumerate() {
        let y = 20 + i * row;
        let len = (*v as f64 / max * bar_w).max(1.0);
        let _ = write!(
            s,
            r##"<text x="{lx}" y="{ty}" text-anchor="end" font-size="12">{l}</text><rect x="{bx}" y="{y}" width="{len:.1}" height="18" fill="#2f6fb5"/><text x="{vx:.1}" y="{ty}" font-size="12">{v}</text>"##,
            lx = label_w - 6.0,
            ty = y + 14,
            l = esc(&truncate(label, 12)),
            bx = label_w,
            vx = label_w + len + 4.0,
        );
    }
    if items.is_empty() {
        s.push_str(r#"<text x="10" y="30" font-size="12">—</text>"#);
    }
    s.push_str("</svg>");
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// One or two series over the same x labels, drawn as lines with points.
pub fn lines(title: &str, labels: &[String], series: &[(&str, &str, Vec<i64>)]) -> String {
    let (w, h, left, top, bottom, right) = (560.0, 240.0, 40.0, 20.0, 40.0, 10.0);
    let max = series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = labels.len().max(2);
    let x = |i: usize| left + (w - left - right) * i as f64 / (n - 1) as f64;
    let y = |v: i64| top + (h - top - bottom) * (1.0 - v as f64 / max);
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{t}" class="chart"><title>{t}</title><line x1="{left}" y1="{b}" x2="{r}" y2="{b}" stroke="#999"/><text x="4" y="{tt}" font-size="11">{max}</text><text x="4" y="{b}" font-size="11">0</text>"##,
        t = esc(title),
        b = h - bottom,
        r = w - right,
        tt = top + 4.0,
    );
    for (i, l) in labels.iter().enumerate() {
        if i % 2 == 0 || labels.len() <= 6 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{}" font-size="10" text-anchor="middle">{}</text>"#,
                x(i),
                h - bottom + 16.0,
                esc(l)
            );
        }
    }
    for (k, (name, color, vals)) in series.iter().enumerate() {
        let pts: Vec<String> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            pts.join(" ")
        );
        for (i, v) in vals.iter().enumerate() {
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"><title>{} {}</title></circle>"#,
                x(i),
                y(*v),
                esc(&labels.get(i).cloned().unwrap_or_default()),
                v
            );
        }
        let _ = write!(
            s,
            r#"<rect x="{}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
            left + 130.0 * k as f64,
            h - 12.0,
            left + 14.0 + 130.0 * k as f64,
            h - 3.0,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}

/// Outer rings (lon, lat) of a GeoJSON geometry, Feature or FeatureCollection.
pub fn rings(geo: &serde_json::Value) -> Vec<Vec<(f64, f64)>> {
    let ring = |v: &serde_json::Value| -> Vec<(f64, f64)> {
        v.as_array()
            .map(|pts| {
                pts.iter()
                    .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    match geo.get("type").and_then(|t| t.as_str()) {
        Some("Feature") => geo.get("geometry").map(rings).unwrap_or_default(),
        Some("FeatureCollection") => geo
            .get("features")
            .and_then(|f| f.as_array())
            .map(|fs| fs.iter().flat_map(rings).collect())
            .unwrap_or_default(),
        Some("Polygon") => geo
            .get("coordinates")
            .and_then(|c| c.get(0))
            .map(|r| vec![ring(r)])
            .unwrap_or_default(),
        Some("MultiPolygon") => geo
            .get("coordinates")
            .and_then(|c| c.as_array())
            .map(|ps| ps.iter().filter_map(|p| p.get(0)).map(ring).collect())
            .unwrap_or_default(),
        _ => vec![],
    }
    .into_iter()
    .filter(|r: &Vec<(f64, f64)>| r.len() >= 3)
    .collect()
}

/// A map of polygons (name, count, rings) in one box, darker for more items.
/// A polygon ring of (longitude, latitude) points.
pub type Ring = Vec<(f64, f64)>;
/// A grid on the map: its name, its item count and its polygon rings.
pub type MapShape = (String, i64, Vec<Ring>);

pub fn map(title: &str, shapes: &[MapShape]) -> String {
    let all = shapes.iter().flat_map(|s| s.2.iter().flatten());
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (x, y) in all {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    let (w, h) = (560.0, 420.0);
    if x0 > x1 {
        return String::new();
    }
    // Equirectangular with the longitude shrunk by cos(latitude): fine at a district's size.
    let k = ((y0 + y1) / 2.0).to_radians().cos().max(0.1);
    let (dx, dy) = (((x1 - x0) * k).max(1e-9), (y1 - y0).max(1e-9));
    let scale = ((w - 20.0) / dx).min((h - 20.0) / dy);
    let max = shapes.iter().map(|s| s.1).max().unwrap_or(0).max(1) as f64;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{t}" class="chart map"><title>{t}</title>"#,
        t = esc(title)
    );
    for (name, n, rs) in shapes {
        let shade = 0.12 + 0.78 * (*n as f64 / max);
        for r in rs {
            let pts: Vec<String> = r
                .iter()
                .map(|(x, y)| {
                    format!(
                        "{:.1},{:.1}",
                        10.0 + (x - x0) * k * scale,
                        10.0 + (y1 - y) * scale
                    )
                })
                .collect();
            let _ = write!(
                s,
                r##"<polygon points="{}" fill="#c0392b" fill-opacity="{shade:.2}" stroke="#555" stroke-width="0.7"><title>{} {}</title></polygon>"##,
                pts.join(" "),
                esc(name),
                n
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_and_draw() {
        let b = bars("t<", &[("a&b".into(), 3), ("c".into(), 1)]);
        assert!(b.starts_with("<svg") && b.contains("a&amp;b") && b.contains("t&lt;"));
        let l = lines("w", &["1".into(), "2".into()], &[("x", "#000", vec![1, 2])]);
        assert!(l.contains("polyline"));
        let geo = serde_json::json!({"type": "Polygon", "coordinates": [[[116.0, 39.0], [116.1, 39.0], [116.1, 39.1], [116.0, 39.0]]]});
        let m = map("m", &[("g".into(), 2, rings(&geo))]);
        assert!(m.contains("<polygon"));
    }
}
