//! Photo and signature checks: the type is read from the bytes (never the name or the
//! declared type), the size is limited, and metadata that can carry a location (JPEG APP1
//! EXIF/XMP and APP13 IPTC segments; PNG `eXIf` and text chunks) is removed.

use base64::Engine as _;

/// Largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Heic,
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The image type the bytes themselves say.
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else if bytes.starts_with(PNG_MAGIC) {
        Some(ImageKind::Png)
    } else if bytes.len() >= 12
        && &bytes[4..8] == b"ftyp"
        && matches!(&bytes[8..12], b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1")
    {
        Some(ImageKind::Heic)
    } else {
        None
    }
}

/// Checks a photo and returns its content type and the bytes without metadata.
pub fn check_photo(bytes: &[u8]) -> Result<(&'static str, Vec<u8>), String> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(format!(
            "the photo is {:.1} MB; the limit is {} MB. Take it again at a lower resolution",
            bytes.len() as f64 / 1_048_576.0,
            MAX_PHOTO_BYTES / 1_048_576
        ));
    }
    match sniff(bytes) {
        Some(ImageKind::Jpeg) => Ok(("image/jpeg", strip_jpeg(bytes)?)),
        Some(ImageKind::Png) => Ok(("image/png", strip_png(bytes)?)),
        Some(ImageKind::Heic) => Err(
            "HEIC photos cannot be accepted here; choose \"Most Compatible\" (JPEG) in the camera settings, or take the photo from this page"
                .into(),
        ),
        None => Err("this file is not a photo (JPEG or PNG)".into()),
    }
}

/// Removes APP1 (EXIF, XMP) and APP13 (IPTC) segments from a JPEG; everything from the
/// start of scan on is copied as is.
pub fn strip_jpeg(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let bad = || "the JPEG file is damaged".to_string();
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut i = 2;
    loop {
        if i + 4 > bytes.len() || bytes[i] != 0xFF {
            return Err(bad());
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            out.extend_from_slice(&bytes[i..]);
            return Ok(out);
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            out.extend_from_slice(&bytes[i..i + 2]);
            i += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if len < 2 || i + 2 + len > bytes.len() {
            return Err(bad());
        }
        if marker != 0xE1 && marker != 0xED {
            out.extend_from_slice(&bytes[i..i + 2 + len]);
        }
        i += 2 + len;
    }
}

/// Removes `eXIf`, `tEXt`, `zTXt`, `iTXt` and `tIME` chunks from a PNG.
pub fn strip_png(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let bad = || "the PNG file is damaged".to_string();
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(PNG_MAGIC);
    let mut i = PNG_MAGIC.len();
    let mut saw_end = false;
    while i < bytes.len() {
        if i + 12 > bytes.len() {
            return Err(bad());
        }
        let len = u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize;
        let end = i.checked_add(12).and_then(|x| x.checked_add(len)).ok_or_else(bad)?;
        if end > bytes.len() {
            return Err(bad());
        }
        let kind = &bytes[i + 4..i + 8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(&bytes[i..end]);
        }
        i = end;
        if kind == b"IEND" {
            saw_end = true;
            break;
        }
    }
    if !saw_end {
        return Err(bad());
    }
    Ok(out)
}

/// Decodes a drawn signature (`data:image/png;base64,...`) and checks it is a PNG.
pub fn signature_png(data_url: &str) -> Result<Vec<u8>, String> {
    let b64 = data_url.strip_prefix("data:image/png;base64,").ok_or("the signature was not drawn")?;
    if b64.len() > super::MAX_SIGNATURE_BYTES * 4 / 3 + 4 {
        return Err("the signature is too large".into());
    }
    let png = base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|_| "the signature is damaged")?;
    if sniff(&png) != Some(ImageKind::Png) {
        return Err("the signature is not a PNG image".into());
    }
    strip_png(&png)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_png() -> Vec<u8> {
        let mut v = PNG_MAGIC.to_vec();
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]);
            c
        };
        v.extend(chunk(b"IHDR", &[0; 13]));
        v.extend(chunk(b"tEXt", b"GPS\x0051.5,-0.1"));
        v.extend(chunk(b"eXIf", b"MM\x00*gps"));
        v.extend(chunk(b"IDAT", &[1, 2, 3]));
        v.extend(chunk(b"IEND", &[]));
        v
    }

    #[test]
    fn png_metadata_is_stripped() {
        let png = tiny_png();
        let (ct, clean) = check_photo(&png).unwrap();
        assert_eq!(ct, "image/png");
        assert!(!clean.windows(3).any(|w| w == b"GPS"));
        assert!(!clean.windows(4).any(|w| w == b"eXIf"));
        assert!(clean.windows(4).any(|w| w == b"IDAT"));
    }

    #[test]
    fn jpeg_app1_is_stripped() {
        let mut j = vec![0xFF, 0xD8];
        j.extend([0xFF, 0xE0, 0, 4, b'J', b'F']);
        j.extend([0xFF, 0xE1, 0, 8, b'E', b'x', b'i', b'f', b'G', b'P']);
        j.extend([0xFF, 0xDA, 0, 2, 9, 9, 0xFF, 0xD9]);
        let (ct, clean) = check_photo(&j).unwrap();
        assert_eq!(ct, "image/jpeg");
        assert!(!clean.windows(4).any(|w| w == b"Exif"));
        assert!(clean.ends_with(&[0xFF, 0xD9]));
        assert!(clean.windows(2).any(|w| w == b"JF"));
    }

    #[test]
    fn wrong_types_and_sizes_are_refused() {
        assert!(check_photo(b"%PDF-1.4 hello").unwrap_err().contains("not a photo"));
        let mut heic = vec![0, 0, 0, 24];
        heic.extend(b"ftypheic");
        heic.extend([0; 12]);
        assert!(check_photo(&heic).unwrap_err().contains("HEIC"));
        let mut big = PNG_MAGIC.to_vec();
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        assert!(check_photo(&big).unwrap_err().contains("limit"));
        assert!(signature_png("data:image/png;base64,aGVsbG8=").is_err());
    }
}
