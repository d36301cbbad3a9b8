//! QR codes of the two codes, drawn from the module matrix the `qrcode` crate computes.
//!
//! Both pictures are drawn here rather than by an image library: the SVG merges each
//! row's dark modules into runs (small files that scale to any print size), and the PNG
//! is a 1-bit grayscale image whose modules are whole pixel squares, so it stays sharp
//! on the cheap thermal and laser printers liaison stations use.

use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the symbol, as the QR standard asks (ISO/IEC 18004: four).
pub const QUIET_ZONE: usize = 4;
/// Pixels per module in the PNG by default: a 33-module code becomes 410 px, about
/// 35 mm at 300 dpi, which phones read from arm's length.
pub const DEFAULT_PNG_SCALE: u32 = 10;
/// Largest scale a caller may ask for (keeps images under a few megapixels).
pub const MAX_PNG_SCALE: u32 = 40;

/// The dark/light matrix of a QR code (without the quiet zone), row by row.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub width: usize,
    pub dark: Vec<bool>,
}

impl Matrix {
    /// Medium error correction (15%): survives a smudged or partly covered print while
    /// keeping the symbol small enough for a badge.
    pub fn encode(text: &str) -> anyhow::Result<Matrix> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|e| anyhow::anyhow!("QR encoding failed: {e:?}"))?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Ok(Matrix { width, dark })
    }

    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.width + x]
    }

    pub fn dark_count(&self) -> usize {
        self.dark.iter().filter(|d| **d).count()
    }

    /// Width including the quiet zone on both sides, in modules.
    pub fn full_width(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }
}

/// An SVG whose user units are modules. Each row's consecutive dark modules become one
/// `M x y h n v1 h -n z` rectangle, so the path length is the number of runs.
pub fn svg(m: &Matrix, title: &str) -> String {
    let full = m.full_width();
    let mut path = String::with_capacity(m.width * m.width * 2);
    for y in 0..m.width {
        let mut x = 0;
        while x < m.width {
            if !m.is_dark(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < m.width && m.is_dark(x, y) {
                x += 1;
            }
            let run = x - start;
            path.push_str(&format!(
                "M{} {}h{}v1h-{}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE,
                run,
                run
            ));
        }
    }
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {full} {full}" "#,
            r#"width="{px}" height="{px}" shape-rendering="crispEdges" role="img">"#,
            r#"<title>{title}</title>"#,
            r##"<rect width="{full}" height="{full}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{path}"/></svg>"##
        ),
        full = full,
        px = full * 8,
        title = xml_escape(title),
        path = path
    )
}

/// A 1-bit grayscale PNG, `scale` pixels per module, with the quiet zone, marked as
/// 300 dpi so office software prints it at a predictable size.
pub fn png(m: &Matrix, scale: u32) -> anyhow::Result<Vec<u8>> {
    let scale = scale.clamp(1, MAX_PNG_SCALE) as usize;
    let side = m.full_width() * scale;
    let row_bytes = side.div_ceil(8);
    // Start all white (bit 1 = white in grayscale), then clear the dark modules' bits.
    let mut pixels = vec![0xFFu8; row_bytes * side];
    for my in 0..m.width {
        for mx in 0..m.width {
            if !m.is_dark(mx, my) {
                continue;
            }
            let px0 = (mx + QUIET_ZONE) * scale;
            let py0 = (my + QUIET_ZONE) * scale;
            for py in py0..py0 + scale {
                let row = &mut pixels[py * row_bytes..(py + 1) * row_bytes];
                for px in px0..px0 + scale {
                    row[px / 8] &= !(0x80u8 >> (px % 8));
                }
            }
        }
    }
    let mut out = Vec::with_capacity(pixels.len() / 4 + 128);
    {
        let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        enc.set_compression(png::Compression::Best);
        // 300 dots per inch = 11811 pixels per metre.
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: 11_811,
            yppu: 11_811,
            unit: png::Unit::Meter,
        }));
        let mut writer = enc.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
    }
    Ok(out)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_runs_cover_every_dark_module() {
        let m = Matrix::encode("http://127.0.0.1:8080/c/d/ABCD2345").unwrap();
        let s = svg(&m, "代表码 <test>");
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("&lt;test&gt;"));
        // Sum of run lengths equals the number of dark modules.
        let d = s.split(" d=\"").nth(1).unwrap();
        let total: usize = d
            .split('h')
            .skip(1)
            .step_by(2)
            .map(|part| part.split('v').next().unwrap().parse::<usize>().unwrap())
            .sum();
        assert_eq!(total, m.dark_count());
    }

    #[test]
    fn png_has_the_expected_size() {
        let m = Matrix::encode("http://127.0.0.1:8080/c/s/ABCD2345").unwrap();
        let bytes = png(&m, 4).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = dec.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width as usize, m.full_width() * 4);
        assert_eq!(info.height, info.width);
    }
}
