//! The administration under `/admin`: sign-in, poles (created and deleted by
//! administrators), their profiles, logos and banners, members and publications, followers, replies, follows between instances, the delivery queue and
//! imports of poles and members.
//!
//! Every change goes through the same store functions as the JSON API, so it is recorded in
//! the change history and federated the same way.
//!
//! Layers, from the bottom: [`forms`] (reading fields, describing them), [`access`] (who is
//! signed in, the anti-forgery token, the right to a pole), [`form_page`] (the one form
//! page), [`submit`] (form → action → message → redirect, or the form again), [`confirm`]
//! (the page that asks before deleting), [`places`];
//! above them one module per page group, which uses only what is below it ([`poles`],
//! creating and deleting poles, stands on [`profile`]); ([`password`],
//! choosing a password by an e-mailed link, stands on [`login`]; [`account`] on
//! [`password`]; the accounts of the instance, [`people`], [`person`] and [`tokens`], and
//! a person's own password, [`own_password`], are for administrators but the last); this
//! file only routes to them.

mod access;
mod account;
mod calls;
mod confirm;
mod dashboard;
mod events;
mod followers;
mod form_page;
pub mod forms;
mod images;
mod import;
mod instance;
mod login;
mod members;
mod own_password;
mod password;
mod people;
mod person;
mod places;
mod poles;
mod profile;
mod projects;
mod publications;
pub mod sign_in;
mod submit;
mod tokens;

use axum::Router;
use axum::routing::{get, post};

use super::AppState;
use crate::domain::{CallForCooperation as Call, Event, Project};
use calls::call_close;
use dashboard::{dashboard, pole_hub};
use followers::{follower_accept, follower_reject, reply_moderate};
use images::{image_confirm_delete, image_delete, image_upload, images_form, upload_limit};
use import::{UPLOAD_LIMIT, import_form, import_upload};
use instance::{
    block_create, block_delete, federation_page, follow_create, follow_delete,
    instance_follower_accept, instance_follower_reject,
};
use login::{login, login_form, logout};
use members::{
    member_confirm_delete, member_create, member_delete, member_edit, member_new, member_update,
};
use poles::{pole_confirm_delete, pole_create, pole_delete, pole_new};
use profile::{profile_form, profile_save};
use publications::{confirm_delete, create, delete, edit, new, update};

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/admin/new-pole", get(pole_new).post(pole_create))
        .route(
            "/admin/poles/{slug}/delete",
            get(pole_confirm_delete).post(pole_delete),
        )
        .route("/admin/poles/{slug}/images", get(images_form))
        .route(
            "/admin/poles/{slug}/images/{slot}",
            post(image_upload).layer(axum::extract::DefaultBodyLimit::max(upload_limit(
                state.config.uploads.max_bytes,
            ))),
        )
        .route(
            "/admin/poles/{slug}/images/{slot}/delete",
            get(image_confirm_delete).post(image_delete),
        )
        .route("/admin", get(dashboard))
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", post(logout))
        .route(
            "/admin/login/forgot",
            get(password::forgot_form).post(password::forgot),
        )
        .route(
            "/admin/login/invite",
            get(password::invite_form).post(password::invite_choose),
        )
        .route(
            "/admin/login/reset",
            get(password::reset_form).post(password::reset_choose),
        )
        .route(
            "/admin/account",
            get(account::account).post(account::account_save),
        )
        .route(
            "/admin/account/password",
            get(own_password::password_form).post(own_password::password_change),
        )
        .route("/admin/users", get(people::users).post(people::user_create))
        .route("/admin/users/invite", post(people::user_invite))
        .route("/admin/users/{id}", get(person::user_page))
        .route("/admin/users/{id}/poles", post(person::pole_grant))
        .route(
            "/admin/users/{id}/poles/{slug}/revoke",
            post(person::pole_revoke),
        )
        .route("/admin/users/{id}/password", post(person::password_reset))
        .route("/admin/users/{id}/unlock", post(person::unlock))
        .route(
            "/admin/users/{id}/delete",
            get(person::delete_confirm).post(person::delete),
        )
        .route(
            "/admin/tokens",
            get(tokens::tokens).post(tokens::token_create),
        )
        .route(
            "/admin/tokens/{id}/revoke",
            get(tokens::revoke_confirm).post(tokens::revoke),
        )
        .route(
            "/admin/poles/{slug}/invite",
            get(account::invite_form).post(account::invite),
        )
        .route(
            "/mail/unsubscribe",
            get(account::unsubscribe_form).post(account::unsubscribe),
        )
        .route("/admin/poles/{slug}", get(pole_hub))
        .route(
            "/admin/poles/{slug}/profile",
            get(profile_form).post(profile_save),
        )
        .route(
            "/admin/poles/{slug}/members/new",
            get(member_new).post(member_create),
        )
        .route(
            "/admin/poles/{slug}/members/{id}",
            get(member_edit).post(member_update),
        )
        .route(
            "/admin/poles/{slug}/members/{id}/delete",
            get(member_confirm_delete).post(member_delete),
        )
        .route(
            "/admin/poles/{slug}/events/new",
            get(new::<Event>).post(create::<Event>),
        )
        .route(
            "/admin/poles/{slug}/calls/new",
            get(new::<Call>).post(create::<Call>),
        )
        .route(
            "/admin/poles/{slug}/projects/new",
            get(new::<Project>).post(create::<Project>),
        )
        .route(
            "/admin/events/{id}",
            get(edit::<Event>).post(update::<Event>),
        )
        .route("/admin/calls/{id}", get(edit::<Call>).post(update::<Call>))
        .route(
            "/admin/projects/{id}",
            get(edit::<Project>).post(update::<Project>),
        )
        .route(
            "/admin/events/{id}/delete",
            get(confirm_delete::<Event>).post(delete::<Event>),
        )
        .route(
            "/admin/calls/{id}/delete",
            get(confirm_delete::<Call>).post(delete::<Call>),
        )
        .route(
            "/admin/projects/{id}/delete",
            get(confirm_delete::<Project>).post(delete::<Project>),
        )
        .route("/admin/calls/{id}/close", post(call_close))
        .route(
            "/admin/poles/{slug}/followers/{id}/accept",
            post(follower_accept),
        )
        .route(
            "/admin/poles/{slug}/followers/{id}/reject",
            post(follower_reject),
        )
        .route("/admin/replies/{id}/{state}", post(reply_moderate))
        .route("/admin/federation", get(federation_page))
        .route(
            "/admin/import",
            get(import_form)
                .post(import_upload)
                .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/admin/follows", post(follow_create))
        .route("/admin/follows/{id}/delete", post(follow_delete))
        .route(
            "/admin/followers/{id}/accept",
            post(instance_follower_accept),
        )
        .route(
            "/admin/followers/{id}/reject",
            post(instance_follower_reject),
        )
        .route("/admin/blocks", post(block_create))
        .route("/admin/blocks/{domain}/delete", post(block_delete))
}
