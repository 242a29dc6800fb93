//! The page that asks before anything is deleted: what will be deleted, by its name, a form
//! that deletes it (with the anti-forgery token) and a way back. It works without JavaScript;
//! the deleting itself is the form's `POST`, answered as every other form is.
//!
//! It stands below the page groups and uses none of them.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::access::Admin;
use crate::web::pages::{Ctx, Meta, html};

#[derive(Template)]
#[template(path = "admin/confirm.html")]
struct ConfirmPage {
    c: Ctx,
    meta: Meta,
    heading: String,
    what: String,
    consequences: &'static str,
    action: String,
    back_url: String,
}

/// What a confirmation asks about.
pub struct Deletion {
    /// The name or title of what will be deleted, as people know it.
    pub name: String,
    /// What else goes with it (the catalogue's sentence).
    pub consequences: &'static str,
    /// Where the deleting form posts.
    pub action: String,
    /// Where « Annuler » leads.
    pub back_url: String,
}

/// « Supprimer « name » ? », with the form that deletes and the link that does not.
pub fn confirm_page(admin: &Admin, deletion: Deletion) -> Response {
    let heading = admin
        .t("admin_delete.heading")
        .replace("{name}", &deletion.name);
    html(
        &ConfirmPage {
            meta: Meta::new(heading.clone(), "", String::new()),
            heading,
            what: deletion.name,
            consequences: deletion.consequences,
            action: deletion.action,
            back_url: deletion.back_url,
            c: admin.c.clone(),
        },
        StatusCode::OK,
    )
}
