//! A pole's logo and banner in the administration: a page showing each as it is now, a
//! form to upload another (checked and stored as the API's uploads are), and removing one
//! once asked. Each change is a new version of the profile, published as the API's is.

use askama::Template;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::access::Admin;
use super::confirm::{Deletion, confirm_page};
use super::submit::{Answer, FlashQuery, QueryResult, done, flash, run, submit};
use crate::store::{ImageSlot, PoleRecord};
use crate::web::AppState;
use crate::web::api::images::{check_image, message};
use crate::web::error::ApiError;
use crate::web::pages::{Ctx, Meta, html};

/// What an upload may hold besides the image: the token and the slot.
const FORM_OVERHEAD: usize = 64 * 1024;

/// The largest body of an upload: the configured image size and the form's other fields.
pub fn upload_limit(max_bytes: usize) -> usize {
    max_bytes.saturating_add(FORM_OVERHEAD)
}

/// A slot as named in URLs and in the catalogue.
fn slot_id(slot: ImageSlot) -> &'static str {
    match slot {
        ImageSlot::Logo => "logo",
        ImageSlot::Banner => "banner",
    }
}

fn slot_from(id: &str) -> Result<ImageSlot, ApiError> {
    match id {
        "logo" => Ok(ImageSlot::Logo),
        "banner" => Ok(ImageSlot::Banner),
        _ => Err(ApiError::NotFound(format!("image `{id}`"))),
    }
}

/// The logo or the banner as the page shows it.
struct SlotView {
    id: &'static str,
    heading: &'static str,
    help: &'static str,
    /// The image's address, when there is one.
    src: Option<String>,
    alt: String,
    /// Why the last upload to this slot was refused.
    error: String,
}

#[derive(Template)]
#[template(path = "admin/images.html")]
struct ImagesPage {
    c: Ctx,
    meta: Meta,
    slug: String,
    name: String,
    flash: String,
    slots: Vec<SlotView>,
    max_kib: usize,
}

fn images_page(
    state: &AppState,
    admin: &Admin,
    pole: &PoleRecord,
    flash: String,
    refused: Option<(ImageSlot, String)>,
) -> Response {
    let t = |k: &str| admin.t(k);
    let slots = [ImageSlot::Logo, ImageSlot::Banner]
        .into_iter()
        .map(|slot| {
            let media = match slot {
                ImageSlot::Logo => &pole.logo,
                ImageSlot::Banner => &pole.banner,
            };
            let id = slot_id(slot);
            SlotView {
                id,
                heading: t(&format!("admin_images.{id}")),
                help: t(&format!("admin_images.{id}_help")),
                src: media.as_ref().map(|m| format!("/media/{}", m.sha256)),
                alt: t(&format!("admin_images.{id}_alt")).replace("{name}", &pole.pole.name),
                error: match &refused {
                    Some((s, message)) if *s == slot => message.clone(),
                    _ => String::new(),
                },
            }
        })
        .collect();
    let heading = format!("{} — {}", t("admin_images.title"), pole.pole.name);
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    html(
        &ImagesPage {
            meta: Meta::new(heading, "", String::new()),
            slug: pole.pole.slug.clone(),
            name: pole.pole.name.clone(),
            flash,
            slots,
            max_kib: state.config.uploads.max_bytes / 1024,
            c: admin.c.clone(),
        },
        status,
    )
}

/// `GET /admin/poles/{slug}/images`.
pub async fn images_form(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    q: QueryResult<FlashQuery>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        Ok(images_page(&state, &admin, &pole, flash(q.ok()), None))
    })
    .await
}

fn upload_error(admin: &Admin, e: MultipartError, max_bytes: usize) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(upload_limit(max_bytes))
    } else {
        ApiError::BadRequest(format!(
            "{}: {}",
            admin.t("admin_images.bad_upload"),
            e.body_text()
        ))
    }
}

/// The form's token and image (empty when none was chosen).
async fn read_upload(
    admin: &Admin,
    mut multipart: Multipart,
    max_bytes: usize,
) -> Result<(String, Vec<u8>), ApiError> {
    let (mut token, mut image) = (String::new(), Vec::new());
    let bad = |e| upload_error(admin, e, max_bytes);
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "_csrf" => token = field.text().await.map_err(bad)?,
            "image" => image = field.bytes().await.map_err(bad)?.to_vec(),
            _ => {}
        }
    }
    Ok((token, image))
}

/// `POST /admin/poles/{slug}/images/{slot}`: the image of a `multipart/form-data` form.
pub async fn image_upload(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, slot)): Path<(String, String)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    run(&admin.c, async {
        let slot = slot_from(&slot)?;
        let multipart = multipart.map_err(|e| {
            ApiError::BadRequest(format!(
                "{}: {}",
                admin.t("admin_images.bad_upload"),
                e.body_text()
            ))
        })?;
        let max_bytes = state.config.uploads.max_bytes;
        let (token, bytes) = read_upload(&admin, multipart, max_bytes).await?;
        admin.check_token(&token)?;
        let pole = admin.pole(&state, &slug).await?;
        let image = match check_image(bytes, max_bytes).await? {
            Ok(image) => image,
            Err(e) => {
                let refused = Some((slot, refusal(&admin, &e)));
                return Ok(images_page(&state, &admin, &pole, String::new(), refused));
            }
        };
        let media = state.store.put_media(image).await?;
        state
            .store
            .set_pole_image(&slug, slot, Some(media.id))
            .await?;
        tracing::info!(%slug, slot = slot_id(slot), user = %admin.auth.user.username, "pole image uploaded");
        let to = format!("/admin/poles/{slug}/images");
        Ok(done(&state, &to, admin.t("admin_images.uploaded")))
    })
    .await
}

/// Why an image is refused, in the person's language.
fn refusal(admin: &Admin, e: &crate::domain::image::ImageError) -> String {
    message(e, admin.lang())
}

/// `GET /admin/poles/{slug}/images/{slot}/delete`: asks before removing.
pub async fn image_confirm_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, slot)): Path<(String, String)>,
) -> Response {
    run(&admin.c, async {
        let id = slot_id(slot_from(&slot)?);
        let pole = admin.pole(&state, &slug).await?;
        Ok(confirm_page(
            &admin,
            Deletion {
                name: admin
                    .t(&format!("admin_images.{id}_alt"))
                    .replace("{name}", &pole.pole.name),
                consequences: admin.t("admin_delete.image_consequences"),
                action: format!("/admin/poles/{slug}/images/{id}/delete"),
                back_url: format!("/admin/poles/{slug}/images"),
            },
        ))
    })
    .await
}

/// `POST /admin/poles/{slug}/images/{slot}/delete`.
pub async fn image_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, slot)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    submit(&state, &admin, &body, async |_| {
        let slot = slot_from(&slot)?;
        admin.pole(&state, &slug).await?;
        state.store.set_pole_image(&slug, slot, None).await?;
        tracing::info!(%slug, slot = slot_id(slot), user = %admin.auth.user.username, "pole image removed");
        let to = format!("/admin/poles/{slug}/images");
        Ok(Answer::done(to, admin.t("admin_images.removed")))
    })
    .await
}
