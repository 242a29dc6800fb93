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
}

impl FromRequest<AppState> for ImageBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.config.uploads.max_bytes;
        let bytes = crate::web::extract::read_body(req, state, limit).await?;
        Ok(ImageBody { bytes })
    }
}

impl ImageBody {
    /// The image, if it is one whole PNG, JPEG, GIF or WebP image within the limits.
    pub async fn check(self, max_bytes: usize) -> Result<CheckedImage, ApiError> {
        check_image(self.bytes.to_vec(), max_bytes)
            .await?
            .map_err(|e| ApiError::Invalid(ValidationErrors::single("body", e.message())))
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
    lang.message(&error.message())
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
