//! PNG charts: the same SVG the other formats use, rasterised by resvg with a font compiled
//! into the binary, so no fontconfig, freetype or system font is needed.

use std::sync::{Arc, OnceLock};

/// DejaVu Sans (Bitstream Vera licence, see assets/fonts/DejaVuSans-LICENSE.txt).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Pixels per SVG unit: twice the nominal size so text stays crisp on high-density screens.
const SCALE: f32 = 2.0;

fn options() -> &'static resvg::usvg::Options<'static> {
    static OPTS: OnceLock<resvg::usvg::Options<'static>> = OnceLock::new();
    OPTS.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        // Every generic family maps to the one bundled face, whatever the SVG asks for.
        db.set_sans_serif_family("DejaVu Sans");
        db.set_serif_family("DejaVu Sans");
        db.set_monospace_family("DejaVu Sans");
        resvg::usvg::Options {
            font_family: "DejaVu Sans".into(),
            fontdb: Arc::new(db),
            ..Default::default()
        }
    })
}

/// Renders SVG text to PNG bytes.
pub fn render(svg: &str) -> Result<Vec<u8>, String> {
    let tree = resvg::usvg::Tree::from_str(svg, options()).map_err(|e| e.to_string())?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(SCALE)
        .ok_or("chart has no size")?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or("chart is too large to rasterise")?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(SCALE, SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(png: &[u8], x: u32, y: u32) -> [u8; 4] {
        let p = resvg::tiny_skia::Pixmap::decode_png(png).unwrap();
        let c = p.pixel(x, y).unwrap();
        [c.red(), c.green(), c.blue(), c.alpha()]
    }

    #[test]
    fn draws_shapes_and_text_with_the_bundled_font() {
        let blank = r#"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="40"><rect width="100" height="40" fill="white"/></svg>"#;
        let text = r#"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="40" font-family="sans-serif"><rect width="100" height="40" fill="white"/><text x="5" y="30" font-size="24">WWW</text><rect x="90" y="0" width="10" height="10" fill="rgb(255,0,0)"/></svg>"#;
        let b = render(blank).unwrap();
        let t = render(text).unwrap();
        assert_eq!(&t[1..4], b"PNG");
        // Doubled resolution; the red square sits in the top-right corner.
        assert_eq!(pixel(&t, 195, 5), [255, 0, 0, 255]);
        // Text was drawn: some pixels in the glyph area are dark, none in the blank image.
        let dark = |png: &[u8]| {
            let p = resvg::tiny_skia::Pixmap::decode_png(png).unwrap();
            p.pixels().iter().filter(|c| c.red() < 100).count()
        };
        assert_eq!(dark(&b), 0);
        assert!(dark(&t) > 200, "no glyphs drawn: {}", dark(&t));
    }

    #[test]
    fn malformed_svg_is_an_error() {
        assert!(render("<svg").is_err());
    }
}
