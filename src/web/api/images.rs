//! Uploaded images in the API: the body, then the check of a whole image of bounded size,
//! refused with a message in the sender's language.

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use tokio::sync::Semaphore;

use crate::domain::ValidationErrors;
use crate::domain::image::{self, CheckedImage, ImageError};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::pages::Lang;

/// Images decoded at once: each may take up to 64 MB while it is (see [`crate::domain::image`]).
const DECODES_AT_ONCE: usize = 2;

/// A raw image body, limited to the configured upload size; [`ImageBody::check`] decodes it.
pub struct ImageBody {
    bytes: Bytes,
    lang: Lang,
}

impl FromRequest<AppState> for ImageBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let lang = Lang::negotiate(req.headers());
        let limit = state.config.uploads.max_bytes;
        let bytes = crate::web::extract::read_body(req, state, limit).await?;
        Ok(ImageBody { bytes, lang })
    }
}

impl ImageBody {
    /// The image, if it is one whole PNG, JPEG, GIF or WebP image within the limits.
    pub async fn check(self, max_bytes: usize) -> Result<CheckedImage, ApiError> {
        check_image(self.bytes.to_vec(), max_bytes)
            .await?
            .map_err(|e| {
                ApiError::Invalid(ValidationErrors::single("body", message(&e, self.lang)))
            })
    }
}

/// Checks an uploaded image (from the API's body or the administration's form), a few at a
/// time and off the async threads: the image, or why it is refused.
pub async fn check_image(
    bytes: Vec<u8>,
    max_bytes: usize,
) -> Result<Result<CheckedImage, ImageError>, ApiError> {
    static DECODES: OnceLock<Semaphore> = OnceLock::new();
    let _turn = DECODES
        .get_or_init(|| Semaphore::new(DECODES_AT_ONCE))
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let checked = tokio::task::spawn_blocking(move || image::check(bytes, max_bytes))
        .await
        .map_err(|e| ApiError::Internal(format!("an image check failed: {e}")))?;
    if let Err(e) = &checked {
        tracing::info!(error = %e, "image refused");
    }
    Ok(checked)
}

/// What a person reads of a refusal.
pub fn message(error: &ImageError, lang: Lang) -> String {
    match error {
        ImageError::Empty => lang.t("input.image_empty").to_owned(),
        ImageError::TooHeavy { size, max } => lang
            .t("input.image_too_heavy")
            .replace("{size}", &size.to_string())
            .replace("{max}", &max.to_string()),
        ImageError::UnknownFormat => lang.t("input.image_unknown").to_owned(),
        ImageError::TooLarge { width, height } => lang
            .t("input.image_too_large")
            .replace("{width}", &width.to_string())
            .replace("{height}", &height.to_string())
            .replace("{side}", &image::MAX_SIDE.to_string())
            .replace("{pixels}", &(image::MAX_PIXELS / 1_000_000).to_string()),
        ImageError::Damaged { format, .. } => lang
            .t("input.image_damaged")
            .replace("{format}", format.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_in_both_languages() {
        let errors = [
            ImageError::Empty,
            ImageError::TooHeavy {
                size: 3000,
                max: 2000,
            },
            ImageError::UnknownFormat,
            ImageError::TooLarge {
                width: 30_000,
                height: 30_000,
            },
            ImageError::Damaged {
                format: image::ImageFormat::Png,
                detail: "cut".into(),
            },
        ];
        for error in &errors {
            let fr = message(error, Lang::Fr);
            let en = message(error, Lang::En);
            assert_ne!(fr, en, "{error:?}");
            for text in [&fr, &en] {
                assert!(!text.contains('{') && !text.is_empty(), "{text}");
            }
        }
        assert!(message(&errors[3], Lang::Fr).contains("30000 × 30000"));
        assert!(message(&errors[3], Lang::En).contains("8000 pixels on a side"));
    }
}
