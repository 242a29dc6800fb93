//! The instance's accounts, for administrators: the list, an account made with a password
//! shown once, an invitation by e-mail when e-mail is configured; and what the account pages
//! share (the administrators' check, the page that shows a secret once, the confirmation
//! page of a deletion).
//!
//! It stands on [`super::submit`] and [`super::access`]; [`super::person`] and
//! [`super::tokens`] stand on it.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use rand::Rng;

use super::access::Admin;
use super::submit::{Answer, FlashQuery, QueryResult, flash, run, submit};
use crate::store::{PoleRecord, Role, StoreError, User, check_username};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::mail::send_invitation;
use crate::web::pages::{Ctx, Meta, html};

/// Refuses anyone but an administrator, in their language.
pub(super) fn admin_only(admin: &Admin) -> Result<(), ApiError> {
    if admin.auth.is_admin() {
        Ok(())
    } else {
        tracing::warn!(user = %admin.auth.user.username, path = %admin.c.path, "account management refused: not an administrator");
        Err(ApiError::Forbidden(
            admin.t("admin_users.admin_only").to_owned(),
        ))
    }
}

/// A password to give a person by hand: 16 letters and digits that cannot be mistaken for
/// one another, in groups of four (about 78 bits).
pub(super) fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..4)
        .map(|_| {
            (0..4)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Hashes a password off the threads that serve requests.
pub(super) async fn hash_password(password: String) -> Result<String, crate::auth::AuthError> {
    tokio::task::spawn_blocking(move || crate::auth::hash_password(&password))
        .await
        .map_err(|e| crate::auth::AuthError::Hash(e.to_string()))?
}

/// A page that shows a password or a token once.
#[derive(Template)]
#[template(path = "admin/secret.html")]
struct SecretPage {
    c: Ctx,
    meta: Meta,
    heading: String,
    text: String,
    secret: String,
    link: String,
    link_label: String,
}

pub(super) fn secret_page(
    c: &Ctx,
    heading: &str,
    text: String,
    secret: String,
    (link, link_label): (String, &str),
) -> Response {
    let mut response = html(
        &SecretPage {
            meta: Meta::new(heading, "", String::new()),
            c: c.clone(),
            heading: heading.to_owned(),
            text,
            secret,
            link,
            link_label: link_label.to_owned(),
        },
        StatusCode::OK,
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// « Supprimer … ? »: the question, what follows, a button that posts, and a way back.
#[derive(Template)]
#[template(path = "admin/account_confirm.html")]
struct ConfirmPage {
    c: Ctx,
    meta: Meta,
    heading: String,
    text: String,
    action: String,
    button: &'static str,
    cancel: String,
}

pub(super) struct Confirm {
    pub heading: String,
    pub text: String,
    pub action: String,
    pub button: &'static str,
    pub cancel: String,
}

pub(super) fn confirm_page(c: &Ctx, confirm: Confirm) -> Response {
    html(
        &ConfirmPage {
            meta: Meta::new(&confirm.heading, "", String::new()),
            c: c.clone(),
            heading: confirm.heading,
            text: confirm.text,
            action: confirm.action,
            button: confirm.button,
            cancel: confirm.cancel,
        },
        StatusCode::OK,
    )
}

/// An account as a row of the list.
struct UserRow {
    id: i64,
    username: String,
    email: String,
    role: &'static str,
    poles: String,
    state: &'static str,
}

/// The creation form as it was filled, with its mistakes.
#[derive(Default)]
struct NewUser {
    username: String,
    email: String,
    role: String,
    pole: String,
    username_error: String,
    email_error: String,
    role_error: String,
    pole_error: String,
}

impl NewUser {
    fn has_errors(&self) -> bool {
        !(self.username_error.is_empty()
            && self.email_error.is_empty()
            && self.role_error.is_empty()
            && self.pole_error.is_empty())
    }
}

#[derive(Default)]
struct NewInvite {
    email: String,
    pole: String,
    error: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    c: Ctx,
    meta: Meta,
    flash: String,
    rows: Vec<UserRow>,
    poles: Vec<(String, String)>,
    mail_enabled: bool,
    form: NewUser,
    invite: NewInvite,
}

pub(super) fn role_label(admin: &Admin, role: Role) -> &'static str {
    match role {
        Role::Admin => admin.t("admin_users.role_admin"),
        Role::Editor => admin.t("admin_users.role_editor"),
    }
}

/// The state of an account as a person reads it.
pub(super) async fn state_label(
    state: &AppState,
    admin: &Admin,
    user: &User,
) -> Result<&'static str, StoreError> {
    Ok(if user.disabled {
        admin.t("admin_users.state_disabled")
    } else if state
        .store
        .account_locked_until(&user.username)
        .await?
        .is_some()
    {
        admin.t("admin_users.state_locked")
    } else if user.password_hash.is_none() {
        admin.t("admin_users.state_no_password")
    } else {
        admin.t("admin_users.state_active")
    })
}

async fn users_page(
    state: &AppState,
    admin: &Admin,
    flash: String,
    form: NewUser,
    invite: NewInvite,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let poles: Vec<PoleRecord> = crate::web::pages::directory::all_poles(&state.store).await?;
    let mut rows = Vec::new();
    for user in state.store.list_users().await? {
        let given = if user.role == Role::Admin {
            admin.t("admin_users.all_poles").to_owned()
        } else {
            let ids = state.store.user_pole_ids(user.id).await?;
            poles
                .iter()
                .filter(|p| ids.contains(&p.id))
                .map(|p| p.pole.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        rows.push(UserRow {
            id: user.id,
            role: role_label(admin, user.role),
            state: state_label(state, admin, &user).await?,
            email: user.email.clone().unwrap_or_default(),
            username: user.username,
            poles: given,
        });
    }
    Ok(html(
        &UsersPage {
            meta: Meta::new(admin.t("admin_users.users_title"), "", String::new()),
            c: admin.c.clone(),
            flash,
            rows,
            poles: poles
                .into_iter()
                .map(|p| (p.pole.slug, p.pole.name))
                .collect(),
            mail_enabled: state.mailer.enabled(),
            form,
            invite,
        },
        status,
    ))
}

pub async fn users(
    State(state): State<AppState>,
    admin: Admin,
    q: QueryResult<FlashQuery>,
) -> Response {
    run(&admin.c, async {
        admin_only(&admin)?;
        let form = NewUser {
            role: Role::Editor.id().to_owned(),
            ..NewUser::default()
        };
        users_page(
            &state,
            &admin,
            flash(q.ok()),
            form,
            NewInvite::default(),
            StatusCode::OK,
        )
        .await
    })
    .await
}

/// Creates an account with a password made here and shown once.
pub async fn user_create(State(state): State<AppState>, admin: Admin, body: Bytes) -> Response {
    submit(&state, &admin, &body, async |data| {
        admin_only(&admin)?;
        let mut form = NewUser {
            username: data.get("username").trim().to_owned(),
            email: data.get("email").trim().to_owned(),
            role: data.get("role"),
            pole: data.get("pole"),
            ..NewUser::default()
        };
        match check_username(&form.username) {
            Ok(_) => {
                if state.store.user_by_username(&form.username).await?.is_some() {
                    form.username_error = admin.t("admin_users.username_taken").into();
                }
            }
            Err(_) => form.username_error = admin.t("admin_users.bad_username").into(),
        }
        if !form.email.is_empty() && crate::domain::check::email(&form.email).is_err() {
            form.email_error = admin.t("admin_users.bad_email").into();
        }
        let role = match form.role.as_str() {
            "admin" => Some(Role::Admin),
            "editor" => Some(Role::Editor),
            _ => None,
        };
        if role.is_none() {
            form.role_error = admin.t("admin_users.bad_role").into();
        }
        let mut pole = None;
        if !form.pole.is_empty() {
            if role == Some(Role::Admin) {
                form.pole_error = admin.t("admin_users.admin_no_pole").into();
            } else {
                match state.store.pole(&form.pole).await {
                    Ok(p) => pole = Some(p),
                    Err(StoreError::NotFound(_) | StoreError::Gone(_)) => {
                        form.pole_error = admin.t("admin_users.unknown_pole").into();
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let Some(role) = role.filter(|_| !form.has_errors()) else {
            let page = users_page(
                &state,
                &admin,
                String::new(),
                form,
                NewInvite::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
            return Ok(Answer::Page(page));
        };
        let password = new_password();
        let hash = hash_password(password.clone())
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let email = Some(form.email.as_str()).filter(|e| !e.is_empty());
        let user = state
            .store
            .create_user(&form.username, email, Some(hash), role)
            .await?;
        if let Some(pole) = &pole {
            state.store.grant_pole(user.id, pole.id).await?;
        }
        tracing::info!(by = %admin.auth.user.username, user = %user.username, role = role.id(), "account created");
        Ok(Answer::Page(secret_page(
            &admin.c,
            admin.t("admin_users.created_title"),
            admin
                .t("admin_users.created_text")
                .replace("{username}", &user.username),
            password,
            (
                format!("/admin/users/{}", user.id),
                admin.t("admin_users.manage"),
            ),
        )))
    })
    .await
}

/// Invites someone by e-mail to edit a pole (the same invitation as the pole's page sends).
pub async fn user_invite(State(state): State<AppState>, admin: Admin, body: Bytes) -> Response {
    submit(&state, &admin, &body, async |data| {
        admin_only(&admin)?;
        let invite = NewInvite {
            email: data.get("email").trim().to_owned(),
            pole: data.get("pole"),
            error: String::new(),
        };
        let again = async |mut invite: NewInvite, key: &str, status| {
            invite.error = admin.t(key).to_owned();
            let page = users_page(
                &state,
                &admin,
                String::new(),
                NewUser {
                    role: Role::Editor.id().to_owned(),
                    ..NewUser::default()
                },
                invite,
                status,
            )
            .await?;
            Ok::<_, ApiError>(Answer::Page(page))
        };
        if !state.mailer.enabled() {
            return again(invite, "mail.invite_not_configured", StatusCode::CONFLICT).await;
        }
        if crate::domain::check::email(&invite.email).is_err() {
            return again(
                invite,
                "admin_users.bad_email",
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        let pole = match state.store.pole(&invite.pole).await {
            Ok(p) => p,
            Err(StoreError::NotFound(_) | StoreError::Gone(_)) => {
                return again(
                    invite,
                    "admin_users.invite_pole_required",
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
            Err(e) => return Err(e.into()),
        };
        let invited = state.store.invite_editor(&invite.email, pole.id).await?;
        tracing::info!(by = %admin.auth.user.username, user = %invited.user.username, pole = %pole.pole.slug, "editor invited");
        let sent = send_invitation(
            &state.store,
            &state.mailer,
            &invited,
            &pole.pole.name,
            &[admin.lang()],
        )
        .await;
        match sent {
            Ok(()) => {
                let what = if invited.needs_password {
                    "mail.invited"
                } else {
                    "mail.granted"
                };
                Ok(Answer::done(
                    "/admin/users",
                    format!("{} {}", admin.t(what), invite.email),
                ))
            }
            Err(e) => {
                tracing::warn!(error = %e, "invitation not sent");
                again(invite, "mail.invite_send_failed", StatusCode::BAD_GATEWAY).await
            }
        }
    })
    .await
}
