//! A pole's followers and the replies it received: accepting or refusing a follow (the
//! answer is sent to the follower's server), and showing or hiding a reply.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use super::access::Admin;
use super::submit::{Answer, submit};
use crate::web::AppState;
use crate::web::error::ApiError;

async fn follower_answer(
    state: &AppState,
    admin: &Admin,
    slug: &str,
    id: i64,
    body: &[u8],
    accept: bool,
) -> Response {
    submit(state, admin, body, async |_| {
        let pole = admin.pole(state, slug).await?;
        let follower = state.store.follower(id).await?;
        if follower.pole_id != Some(pole.id) {
            return Err(ApiError::NotFound(format!("follower {id} of `{slug}`")));
        }
        if accept {
            let follower = state.store.set_follower_state(id, "accepted").await?;
            crate::federation::activities::accept::answer_follow(&state.fed, &follower, true)
                .await?;
        } else {
            crate::federation::activities::accept::answer_follow(&state.fed, &follower, false)
                .await?;
            state.store.delete_follower(id).await?;
        }
        let flash = admin.t(if accept {
            "admin.accepted"
        } else {
            "admin.refused"
        });
        Ok(Answer::done(format!("/admin/poles/{slug}"), flash))
    })
    .await
}

pub async fn follower_accept(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, id)): Path<(String, i64)>,
    body: Bytes,
) -> Response {
    follower_answer(&state, &admin, &slug, id, &body, true).await
}

pub async fn follower_reject(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, id)): Path<(String, i64)>,
    body: Bytes,
) -> Response {
    follower_answer(&state, &admin, &slug, id, &body, false).await
}

pub async fn reply_moderate(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, new_state)): Path<(i64, String)>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |_| {
        if !matches!(new_state.as_str(), "visible" | "rejected") {
            return Err(ApiError::Refused(
                crate::web::error::Refusal::BadRequest,
                crate::domain::Message::new(crate::domain::Code::OneOf)
                    .arg("expected", "`visible`, `rejected`"),
            ));
        }
        let reply = state.store.reply(id).await?;
        admin.auth.require_pole(reply.pole_id)?;
        state.store.set_reply_state(id, &new_state).await?;
        let pole = state.store.pole_by_id(reply.pole_id).await?;
        let to = format!("/admin/poles/{}", pole.pole.slug);
        Ok(Answer::done(to, admin.t("admin.saved")))
    })
    .await
}
