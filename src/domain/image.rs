//! Uploaded images (a pole's logo and banner): their kind from their first bytes, their
//! dimensions from their header, and a decode of the whole file, so that only complete
//! images of a bounded size are stored and served.
//!
//! The dimensions are read before anything is decoded: a small file may declare an image
//! of billions of pixels, which a decoder (here, or in a browser or another server reading
//! the pole's icon) would try to allocate. Within the limits, decoding the first image of
//! the file takes at most [`MAX_PIXELS`] × 4 bytes (64 MB); later frames of an animation are
//! walked through without being drawn.

use std::io::Cursor;

/// The most pixels on either side of an image.
pub const MAX_SIDE: u32 = 8000;
/// The most pixels in all: a banner of 8000 × 2000, a logo of 4000 × 4000.
pub const MAX_PIXELS: u64 = 16_000_000;

/// The kinds of image accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl ImageFormat {
    /// The kind of image these bytes begin like, whatever the client claimed.
    pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageFormat::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageFormat::Webp)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Png => "PNG",
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Gif => "GIF",
            ImageFormat::Webp => "WebP",
        }
    }
}

/// Why an upload is not an image that may be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("the image is empty")]
    Empty,
    #[error("the image is {size} bytes; at most {max} are allowed")]
    TooHeavy { size: usize, max: usize },
    #[error("not a PNG, JPEG, GIF or WebP image")]
    UnknownFormat,
    #[error(
        "the image is {width} × {height} pixels; at most {MAX_SIDE} on a side and {MAX_PIXELS} in all"
    )]
    TooLarge { width: u64, height: u64 },
    #[error("the {} image is incomplete or damaged: {detail}", format.name())]
    Damaged { format: ImageFormat, detail: String },
}

impl ImageError {
    /// The refusal as a [`super::Message`], for the reader's language.
    pub fn message(&self) -> super::Message {
        use super::{Code, Message};
        match self {
            ImageError::Empty => Code::ImageEmpty.into(),
            ImageError::TooHeavy { size, max } => Message::new(Code::ImageTooHeavy)
                .arg("size", size)
                .arg("max", max),
            ImageError::UnknownFormat => Code::ImageUnknown.into(),
            ImageError::TooLarge { width, height } => Message::new(Code::ImageTooLarge)
                .arg("width", width)
                .arg("height", height)
                .arg("side", MAX_SIDE)
                .arg("pixels", MAX_PIXELS / 1_000_000),
            ImageError::Damaged { format, .. } => {
                Message::new(Code::ImageDamaged).arg("format", format.name())
            }
        }
    }
}

/// An image that passed [`check`]: the only kind the store accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedImage {
    bytes: Vec<u8>,
    format: ImageFormat,
    width: u32,
    height: u32,
}

impl CheckedImage {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub fn format(&self) -> ImageFormat {
        self.format
    }

    pub fn content_type(&self) -> &'static str {
        self.format.content_type()
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }
}

/// Checks that `bytes` are one whole PNG, JPEG, GIF or WebP image of at most `max_bytes`,
/// [`MAX_SIDE`] pixels on a side and [`MAX_PIXELS`] in all. Decoding takes time (up to a
/// second for the largest images): call it where blocking is allowed.
pub fn check(bytes: Vec<u8>, max_bytes: usize) -> Result<CheckedImage, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    if bytes.len() > max_bytes {
        return Err(ImageError::TooHeavy {
            size: bytes.len(),
            max: max_bytes,
        });
    }
    let format = ImageFormat::sniff(&bytes).ok_or(ImageError::UnknownFormat)?;
    let damaged = |detail: String| ImageError::Damaged { format, detail };
    let (width, height) = match format {
        ImageFormat::Png => png_dimensions(&bytes),
        ImageFormat::Jpeg => jpeg_dimensions(&bytes),
        ImageFormat::Gif => gif_dimensions(&bytes),
        ImageFormat::Webp => webp_dimensions(&bytes),
    }
    .map_err(damaged)?;
    within_limits(format, width, height)?;
    match format {
        ImageFormat::Png => decode_png(&bytes),
        ImageFormat::Jpeg => decode_jpeg(&bytes),
        ImageFormat::Gif => decode_gif(&bytes),
        ImageFormat::Webp => decode_webp(&bytes),
    }
    .map_err(damaged)?;
    Ok(CheckedImage {
        bytes,
        format,
        width,
        height,
    })
}

fn within_limits(format: ImageFormat, width: u32, height: u32) -> Result<(), ImageError> {
    let pixels = u64::from(width) * u64::from(height);
    if width == 0 || height == 0 {
        return Err(ImageError::Damaged {
            format,
            detail: "the image has no pixels".into(),
        });
    }
    if width > MAX_SIDE || height > MAX_SIDE || pixels > MAX_PIXELS {
        return Err(ImageError::TooLarge {
            width: width.into(),
            height: height.into(),
        });
    }
    Ok(())
}

/// What a decoder needs at most for one image within the limits, four bytes a pixel.
fn decode_budget() -> usize {
    usize::try_from(MAX_PIXELS * 4).unwrap_or(usize::MAX)
}

fn png_dimensions(bytes: &[u8]) -> Result<(u32, u32), String> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    let info = decoder.read_header_info().map_err(|e| e.to_string())?;
    Ok((info.width, info.height))
}

fn decode_png(bytes: &[u8]) -> Result<(), String> {
    let limits = png::Limits {
        bytes: decode_budget(),
    };
    let decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    // Row by row: the image is checked whole without being held whole.
    while reader.next_row().map_err(|e| e.to_string())?.is_some() {}
    // Every chunk after the image, to the end marker, with its checksum.
    reader.finish().map_err(|e| e.to_string())
}

fn jpeg_options() -> zune_core::options::DecoderOptions {
    zune_core::options::DecoderOptions::default()
        .set_max_width(MAX_SIDE as usize)
        .set_max_height(MAX_SIDE as usize)
        // A file cut short is an error, not an image completed in grey.
        .set_strict_mode(true)
}

fn jpeg_dimensions(bytes: &[u8]) -> Result<(u32, u32), String> {
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(
        zune_core::bytestream::ZCursor::new(bytes),
        // The header is read without the limits, so that a too large image is told as such.
        zune_core::options::DecoderOptions::default()
            .set_max_width(usize::from(u16::MAX))
            .set_max_height(usize::from(u16::MAX)),
    );
    decoder.decode_headers().map_err(|e| e.to_string())?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| "no dimensions in the header".to_owned())?;
    Ok((
        u32::try_from(width).unwrap_or(u32::MAX),
        u32::try_from(height).unwrap_or(u32::MAX),
    ))
}

fn decode_jpeg(bytes: &[u8]) -> Result<(), String> {
    // The decoder draws what is missing at the end of the last scan in grey: the file must
    // reach its end-of-image marker.
    jpeg_reaches_its_end(bytes)?;
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(
        zune_core::bytestream::ZCursor::new(bytes),
        jpeg_options(),
    );
    decoder.decode().map(|_| ()).map_err(|e| e.to_string())
}

/// Walks a JPEG's segments and entropy-coded data to its end-of-image marker.
fn jpeg_reaches_its_end(bytes: &[u8]) -> Result<(), String> {
    let cut = || "the file ends before its end-of-image marker".to_owned();
    let mut at = 2; // after the start-of-image marker
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return Err(if at + 1 >= bytes.len() {
                cut()
            } else {
                format!("no marker where one is due, at byte {at}")
            });
        };
        at += 2;
        match marker {
            0xD9 => return Ok(()),
            // Markers without a length: restart markers, TEM.
            0xD0..=0xD7 | 0x01 => continue,
            _ => {}
        }
        let length = match bytes.get(at..at + 2) {
            Some(&[high, low]) => usize::from(u16::from_be_bytes([high, low])),
            _ => return Err(cut()),
        };
        if length < 2 {
            return Err(format!("a segment of impossible length at byte {at}"));
        }
        at += length;
        if at > bytes.len() {
            return Err(cut());
        }
        if marker == 0xDA {
            // Entropy-coded data: a 0xFF in it is followed by 0x00 (a stuffed byte) or a
            // restart marker; anything else is the next marker.
            loop {
                match (bytes.get(at), bytes.get(at + 1)) {
                    (Some(&0xFF), Some(&(0x00 | 0xD0..=0xD7))) => at += 2,
                    (Some(&0xFF), Some(_)) => break,
                    (Some(_), _) => at += 1,
                    (None, _) => return Err(cut()),
                }
            }
        }
    }
}

fn gif_options(skip_pixels: bool) -> gif::DecodeOptions {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    options.check_frame_consistency(true);
    options.skip_frame_decoding(skip_pixels);
    if let Some(limit) = u64::try_from(decode_budget())
        .ok()
        .and_then(std::num::NonZeroU64::new)
    {
        options.set_memory_limit(gif::MemoryLimit::Bytes(limit));
    }
    options
}

fn gif_dimensions(bytes: &[u8]) -> Result<(u32, u32), String> {
    let decoder = gif_options(true)
        .read_info(Cursor::new(bytes))
        .map_err(|e| e.to_string())?;
    Ok((decoder.width().into(), decoder.height().into()))
}

fn decode_gif(bytes: &[u8]) -> Result<(), String> {
    // The first frame is drawn; the others, and the end of the file, are walked through
    // block by block: an animation of many frames costs no more than its bytes.
    let mut first = gif_options(false)
        .read_info(Cursor::new(bytes))
        .map_err(|e| e.to_string())?;
    if first
        .read_next_frame()
        .map_err(|e| e.to_string())?
        .is_none()
    {
        return Err("no image in the file".into());
    }
    let mut all = gif_options(true)
        .read_info(Cursor::new(bytes))
        .map_err(|e| e.to_string())?;
    while all.read_next_frame().map_err(|e| e.to_string())?.is_some() {}
    Ok(())
}

fn webp_dimensions(bytes: &[u8]) -> Result<(u32, u32), String> {
    let decoder = image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    Ok(decoder.dimensions())
}

fn decode_webp(bytes: &[u8]) -> Result<(), String> {
    // The decoder reads what it needs and forgives a file cut after it: the file must hold
    // every byte its RIFF header announces.
    let declared = bytes
        .get(4..8)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| "no RIFF header".to_owned())?;
    let whole = usize::try_from(declared)
        .ok()
        .and_then(|n| n.checked_add(8))
        .ok_or_else(|| "impossible RIFF size".to_owned())?;
    if bytes.len() < whole {
        return Err(format!(
            "the file announces {whole} bytes but holds {}",
            bytes.len()
        ));
    }
    let mut decoder =
        image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    decoder.set_memory_limit(decode_budget());
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| "impossible dimensions".to_owned())?;
    let mut pixels = vec![0u8; size];
    decoder.read_image(&mut pixels).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/images")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    const MAX: usize = 1024 * 1024;

    #[test]
    fn whole_images_of_each_kind_pass_with_their_dimensions() {
        for (name, format, width, height) in [
            ("tiny.png", ImageFormat::Png, 3, 2),
            ("interlaced.png", ImageFormat::Png, 3, 2),
            ("tiny.jpg", ImageFormat::Jpeg, 3, 2),
            ("progressive.jpg", ImageFormat::Jpeg, 4, 4),
            ("tiny.gif", ImageFormat::Gif, 3, 2),
            ("animated.gif", ImageFormat::Gif, 3, 2),
            ("lossless.webp", ImageFormat::Webp, 3, 2),
            ("lossy.webp", ImageFormat::Webp, 3, 2),
            ("animated.webp", ImageFormat::Webp, 3, 2),
        ] {
            let image = check(fixture(name), MAX).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (image.format(), image.width(), image.height()),
                (format, width, height),
                "{name}"
            );
            assert_eq!(
                image.bytes(),
                fixture(name).as_slice(),
                "{name}: kept as sent"
            );
        }
    }

    #[test]
    fn images_cut_short_are_refused() {
        for name in [
            "tiny.png",
            "interlaced.png",
            "tiny.jpg",
            "progressive.jpg",
            "tiny.gif",
            "animated.gif",
            "lossless.webp",
            "lossy.webp",
            "animated.webp",
        ] {
            let whole = fixture(name);
            for cut in [1, 2, whole.len() / 2] {
                let mut bytes = whole.clone();
                bytes.truncate(whole.len() - cut);
                let result = check(bytes, MAX);
                assert!(
                    matches!(result, Err(ImageError::Damaged { .. })),
                    "{name} without its last {cut} bytes: {result:?}"
                );
            }
        }
    }

    /// A PNG signature and header for `width` × `height`, then an empty end.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        bytes.extend_from_slice(&13u32.to_be_bytes());
        bytes.extend_from_slice(&ihdr);
        bytes.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        bytes
    }

    /// The CRC-32 a PNG chunk ends with.
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn dimensions_over_the_limits_are_refused_before_decoding() {
        for (width, height) in [
            (30_000, 30_000),
            (MAX_SIDE + 1, 1),
            (1, MAX_SIDE + 1),
            (4001, 4000),
        ] {
            assert_eq!(
                check(png_header(width, height), MAX),
                Err(ImageError::TooLarge {
                    width: width.into(),
                    height: height.into()
                }),
                "{width} × {height}"
            );
        }
        // Within the limits, the same header without pixels is an image cut short.
        assert!(matches!(
            check(png_header(MAX_SIDE, 2000), MAX),
            Err(ImageError::Damaged { .. })
        ));
        // A GIF's screen and a JPEG's frame are read the same way.
        let mut gif = fixture("tiny.gif");
        gif[6..8].copy_from_slice(&60_000u16.to_le_bytes());
        assert!(
            matches!(
                check(gif, MAX),
                Err(ImageError::TooLarge { width: 60_000, .. })
            ),
            "GIF"
        );
        let mut jpeg = fixture("tiny.jpg");
        let sof = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("a baseline frame header");
        jpeg[sof + 5..sof + 7].copy_from_slice(&9000u16.to_be_bytes());
        assert!(
            matches!(
                check(jpeg, MAX),
                Err(ImageError::TooLarge { height: 9000, .. })
            ),
            "JPEG"
        );
    }

    #[test]
    fn what_is_not_an_image_is_refused() {
        assert_eq!(check(Vec::new(), MAX), Err(ImageError::Empty));
        assert_eq!(
            check(b"<svg onload=alert(1)>".to_vec(), MAX),
            Err(ImageError::UnknownFormat)
        );
        assert_eq!(
            check(fixture("tiny.jpg"), 100),
            Err(ImageError::TooHeavy {
                size: 323,
                max: 100
            })
        );
        let mut png = fixture("tiny.png");
        let last = png.len() - 20;
        png[last] ^= 0xFF;
        assert!(matches!(check(png, MAX), Err(ImageError::Damaged { .. })));
    }
}
