//! Printable PDFs of what staff export (form submissions): text laid out on Letter pages in
//! the built-in Helvetica (no font files to ship), and photos or signatures drawn in place.
//!
//! Images come from patients, so they are decoded under limits (dimensions and memory),
//! flattened onto white and scaled down before they are embedded; one that cannot be decoded
//! is named instead of drawn, and the rest of the document still renders.

use std::io::Cursor;

use printpdf::image_crate::{self, DynamicImage, GenericImageView as _, ImageFormat, RgbImage};
use printpdf::{BuiltinFont, Image, ImageTransform, Mm, PdfDocument};

const PAGE_W: f32 = 215.9;
const PAGE_H: f32 = 279.4;
const MARGIN: f32 = 20.0;
/// The tallest an image may be drawn, so a photo never takes a whole page.
const MAX_IMAGE_H: f32 = 90.0;
/// Larger images are scaled down to this many pixels on their longer side before embedding.
const MAX_IMAGE_PX: u32 = 900;
/// Refused before decoding: no phone photo is larger, and a bigger claim is a decompression bomb.
const MAX_DECODED_PX: u32 = 12_000;
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// One block of the document.
pub enum PdfBlock {
    /// A paragraph: wrapped to the page width.
    Text {
        text: String,
        size: f32,
        bold: bool,
        /// Extra space above, in millimetres.
        gap: f32,
    },
    /// A PNG or JPEG, drawn at most the page's width and [`MAX_IMAGE_H`] tall.
    Image { bytes: Vec<u8>, what: String },
}

impl PdfBlock {
    pub fn text(text: impl Into<String>, size: f32, bold: bool, gap: f32) -> PdfBlock {
        PdfBlock::Text { text: text.into(), size, bold, gap }
    }
}

/// Cuts `text` into lines of at most `width` characters, at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let mut word = word.to_string();
            while word.chars().count() > width {
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                out.push(head);
            }
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        out.push(line);
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// What the built-in PDF fonts can draw (WinAnsi): anything else becomes `?`.
fn pdf_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            '\u{2013}' | '\u{2014}' => '-',
            c if c == '\n' || (' '..='~').contains(&c) || ('\u{a0}'..='\u{ff}').contains(&c) => c,
            _ => '?',
        })
        .collect()
}

/// Decodes a patient's PNG or JPEG under limits and flattens it onto white, scaled down to
/// [`MAX_IMAGE_PX`].
fn decode_image(bytes: &[u8]) -> Result<RgbImage, String> {
    let mut reader = image_crate::io::Reader::new(Cursor::new(bytes));
    let format = image_crate::guess_format(bytes).map_err(|e| e.to_string())?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg) {
        return Err(format!("{format:?} images are not drawn"));
    }
    reader.set_format(format);
    let mut limits = image_crate::io::Limits::default();
    limits.max_image_width = Some(MAX_DECODED_PX);
    limits.max_image_height = Some(MAX_DECODED_PX);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut image: DynamicImage = reader.decode().map_err(|e| e.to_string())?;
    let (w, h) = image.dimensions();
    if w.max(h) > MAX_IMAGE_PX {
        image = image.thumbnail(MAX_IMAGE_PX, MAX_IMAGE_PX);
    }
    let rgba = image.to_rgba8();
    let mut flat = RgbImage::new(rgba.width(), rgba.height());
    for (x, y, p) in rgba.enumerate_pixels() {
        let a = u16::from(p[3]);
        let over_white = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
        flat.put_pixel(x, y, image_crate::Rgb([over_white(p[0]), over_white(p[1]), over_white(p[2])]));
    }
    Ok(flat)
}

/// Lays out `blocks` on Letter pages and returns the PDF's bytes.
pub fn render_pdf(title: &str, blocks: &[PdfBlock]) -> Result<Vec<u8>, String> {
    let (doc, page, layer) = PdfDocument::new(pdf_text(title), Mm(PAGE_W), Mm(PAGE_H), "page");
    let regular = doc.add_builtin_font(BuiltinFont::Helvetica).map_err(|e| e.to_string())?;
    let bold = doc.add_builtin_font(BuiltinFont::HelveticaBold).map_err(|e| e.to_string())?;
    let mut layer = doc.get_page(page).get_layer(layer);
    let mut y = PAGE_H - MARGIN;
    // Moves to a new page when `height` millimetres do not fit below `y`.
    let room_for = |height: f32, y: &mut f32, layer: &mut printpdf::PdfLayerReference| {
        if *y - height < MARGIN {
            let (p, l) = doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "page");
            *layer = doc.get_page(p).get_layer(l);
            *y = PAGE_H - MARGIN;
        }
    };
    for block in blocks {
        match block {
            PdfBlock::Text { text, size, bold: is_bold, gap } => {
                // Helvetica averages about half an em per character.
                let em_mm = size * 0.3528;
                let width = (((PAGE_W - 2.0 * MARGIN) / (em_mm * 0.5)) as usize).max(20);
                y -= gap;
                for piece in wrap(&pdf_text(text), width) {
                    let height = em_mm * 1.35;
                    room_for(height, &mut y, &mut layer);
                    y -= height;
                    layer.use_text(piece, *size, Mm(MARGIN), Mm(y), if *is_bold { &bold } else { &regular });
                }
            }
            PdfBlock::Image { bytes, what } => match decode_image(bytes) {
                Ok(rgb) => {
                    let (w_px, h_px) = (rgb.width() as f32, rgb.height() as f32);
                    // Millimetres per pixel that fit both the width and the height limit.
                    let mm_per_px = ((PAGE_W - 2.0 * MARGIN) / w_px).min(MAX_IMAGE_H / h_px);
                    let height = h_px * mm_per_px;
                    room_for(height + 2.0, &mut y, &mut layer);
                    y -= height + 2.0;
                    let dpi = 25.4 / mm_per_px;
                    Image::from_dynamic_image(&DynamicImage::ImageRgb8(rgb)).add_to_layer(
                        layer.clone(),
                        ImageTransform {
                            translate_x: Some(Mm(MARGIN)),
                            translate_y: Some(Mm(y)),
                            dpi: Some(dpi),
                            ..Default::default()
                        },
                    );
                }
                Err(problem) => {
                    tracing::warn!(%problem, "an image could not be drawn in a PDF");
                    let note = format!("[{what} could not be drawn here: open it from the submission page]");
                    room_for(6.0, &mut y, &mut layer);
                    y -= 6.0;
                    layer.use_text(note, 10.0, Mm(MARGIN), Mm(y), &regular);
                }
            },
        }
    }
    doc.save_to_bytes().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32, rgba: [u8; 4]) -> Vec<u8> {
        let img = image_crate::RgbaImage::from_pixel(w, h, image_crate::Rgba(rgba));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn images_are_flattened_onto_white_and_scaled_down() {
        let rgb = decode_image(&png(2400, 600, [0, 0, 0, 0])).unwrap();
        assert_eq!((rgb.width(), rgb.height()), (900, 225));
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255], "transparent ink-free areas print white");
        let rgb = decode_image(&png(10, 10, [10, 20, 30, 255])).unwrap();
        assert_eq!(rgb.get_pixel(5, 5).0, [10, 20, 30]);
    }

    #[test]
    fn a_bad_image_is_named_and_the_document_still_renders() {
        assert!(decode_image(b"GIF89a not really").is_err());
        let blocks = vec![
            PdfBlock::text("Title", 18.0, true, 0.0),
            PdfBlock::Image { bytes: b"\x89PNG\r\n\x1a\n broken".to_vec(), what: "Insurance card".into() },
            PdfBlock::Image { bytes: png(300, 200, [0, 90, 200, 255]), what: "Signature".into() },
        ];
        let pdf = render_pdf("t", &blocks).unwrap();
        let text = String::from_utf8_lossy(&pdf);
        // The note naming the broken one is checked in the integration tests, which read the
        // PDF's text operands.
        assert_eq!(text.matches("/Subtype/Image").count(), 1, "only the good image is embedded");
    }
}
