//! What a pole publishes — events, calls and projects — edited the same way: a form to
//! publish one, a form to edit it at the version it was filled from, and deleting it. The
//! handlers here are written once for the three kinds; each kind says in its own module
//! (through [`Publication`]) what its form holds and how the store keeps it.
//!
//! A publication is edited only by a person who holds its pole. This module stands below
//! the kinds' modules and uses none of them.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use super::access::Admin;
use super::confirm::{Deletion, confirm_page};
use super::form_page::{FormSpec, form_page};
use super::forms::FormData;
use super::submit::{Answer, Stored, combine, run, saved, store_checked, submit};
use crate::domain::ValidationErrors;
use crate::store::{ObjectRecord, PoleRecord, Store, StoreError};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::pages::Lang;

/// What differs between the forms of an event, a call and a project. Implemented by the
/// stored data (`Event`, `CallForCooperation`, `Project`).
pub trait Publication: Clone + serde::Serialize + Send + Sync + Sized + 'static {
    /// `event`, `call`, `project`: in the administration's URLs and the change history.
    const KIND: &'static str;
    /// What the form reads and shows.
    type Input: Default + Send + Sync;

    /// The form of a publication of `pole`, posted to `action`.
    fn spec(
        pole: &PoleRecord,
        input: &Self::Input,
        related: &Related,
        action: String,
        lang: Lang,
    ) -> FormSpec;
    /// The title people know the publication by.
    fn title(&self) -> &str;
    /// What the form offers to choose from besides vocabularies (nothing by default).
    fn related(
        _store: &Store,
        _pole: &PoleRecord,
    ) -> impl Future<Output = Result<Related, StoreError>> + Send {
        async { Ok(Related::default()) }
    }
    /// What was typed, over the stored entries when there are some.
    fn read(
        form: &FormData,
        current: Option<Self::Input>,
        lang: Lang,
        e: &mut ValidationErrors,
    ) -> Self::Input;
    fn validate(input: &Self::Input) -> Result<Self, ValidationErrors>;
    fn to_input(&self) -> Self::Input;

    fn get(
        store: &Store,
        id: &str,
    ) -> impl Future<Output = Result<ObjectRecord<Self>, StoreError>> + Send;
    fn create(
        store: &Store,
        pole_id: i64,
        data: &Self,
    ) -> impl Future<Output = Result<ObjectRecord<Self>, StoreError>> + Send;
    /// Replaces the stored data, if it is still at `expected`.
    fn edit(
        store: &Store,
        id: &str,
        expected: Option<i32>,
        data: Self,
    ) -> impl Future<Output = Result<ObjectRecord<Self>, StoreError>> + Send;
    fn delete(store: &Store, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The store's further checks of a new one, before it is written (none by default).
    fn check_new(
        _store: &Store,
        _pole_id: i64,
        _data: &Self,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }
    /// The store's further checks of an edited one, before it is written (none by default).
    fn check_edited(
        _store: &Store,
        _pole_id: i64,
        _data: &Self,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }
    /// Tells the log that `user` published `record` for the pole `slug` (nothing by default).
    fn published(_slug: &str, _record: &ObjectRecord<Self>, _user: &str) {}
}

/// What a publication's form offers to choose from that only the store knows.
#[derive(Debug, Default)]
pub struct Related {
    /// The pole's members, as `(id, name)`: a project's partners.
    pub members: Vec<(String, String)>,
    /// The other poles of this instance, as `(slug, name)`: an event's co-organisers.
    pub poles: Vec<(String, String)>,
}

/// The form of `T` with what it offers to choose from.
async fn spec_of<T: Publication>(
    store: &Store,
    pole: &PoleRecord,
    input: &T::Input,
    action: String,
    lang: Lang,
) -> Result<FormSpec, ApiError> {
    let related = T::related(store, pole).await?;
    Ok(T::spec(pole, input, &related, action, lang))
}

/// `GET /admin/poles/{slug}/{kind}s/new`.
pub async fn new<T: Publication>(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        let action = format!("/admin/poles/{slug}/{}s/new", T::KIND);
        let input = T::Input::default();
        let spec = spec_of::<T>(&state.store, &pole, &input, action, admin.lang()).await?;
        Ok(form_page(&state, &admin.c, spec, None))
    })
    .await
}

/// `POST /admin/poles/{slug}/{kind}s/new`.
pub async fn create<T: Publication>(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        let pole = admin.pole(&state, &slug).await?;
        let mut e = ValidationErrors::new();
        let input = T::read(&form, None, admin.lang(), &mut e);
        let valid = combine(e, T::validate(&input));
        match store_checked(valid, async |v| {
            T::check_new(&state.store, pole.id, v).await
        })
        .await?
        {
            Ok(data) => {
                let record = T::create(&state.store, pole.id, &data).await?;
                T::published(&slug, &record, &admin.auth.user.username);
                let to = format!("/admin/poles/{slug}");
                Ok(Answer::done(to, admin.t("admin.published")))
            }
            Err(errors) => {
                let action = format!("/admin/poles/{slug}/{}s/new", T::KIND);
                let spec = spec_of::<T>(&state.store, &pole, &input, action, admin.lang()).await?;
                Ok(Answer::Invalid(spec.with_typed_communes(&form), errors))
            }
        }
    })
    .await
}

/// `GET /admin/{kind}s/{id}`.
pub async fn edit<T: Publication>(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Response {
    run(&admin.c, async {
        let record = T::get(&state.store, &id).await?;
        let pole = admin.pole_of(&state, record.pole_id).await?;
        let action = format!("/admin/{}s/{id}", T::KIND);
        let input = record.data.to_input();
        let spec = spec_of::<T>(&state.store, &pole, &input, action, admin.lang()).await?;
        let spec = spec.at_version(Some(record.version));
        Ok(form_page(&state, &admin.c, spec, None))
    })
    .await
}

/// `POST /admin/{kind}s/{id}`: saved at the version the form was filled from.
pub async fn update<T: Publication>(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        let record = T::get(&state.store, &id).await?;
        let pole = admin.pole_of(&state, record.pole_id).await?;
        let mut e = ValidationErrors::new();
        let input = T::read(&form, Some(record.data.to_input()), admin.lang(), &mut e);
        let valid = combine(e, T::validate(&input));
        let check = async |v: &T| T::check_edited(&state.store, record.pole_id, v).await;
        let valid = store_checked(valid, check).await?;
        let expected = form.version();
        let action = format!("/admin/{}s/{id}", T::KIND);
        let spec = spec_of::<T>(&state.store, &pole, &input, action, admin.lang()).await?;
        let data = match valid {
            Ok(data) => data,
            Err(errors) => {
                let spec = spec.with_typed_communes(&form).at_version(expected);
                return Ok(Answer::Invalid(spec, errors));
            }
        };
        let written = T::edit(&state.store, &id, expected, data).await;
        let to = format!("/admin/poles/{}", pole.pole.slug);
        let flash = match &written {
            Ok(now) if now.version == record.version => admin.t("admin_fields.unchanged"),
            _ => admin.t("admin.saved"),
        };
        saved(written, Answer::done(to, flash), async || {
            let now = T::get(&state.store, &id).await?;
            Stored::new(spec, T::KIND, now.id, now.data)
        })
        .await
    })
    .await
}

/// `GET /admin/{kind}s/{id}/delete`: asks before deleting.
pub async fn confirm_delete<T: Publication>(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Response {
    run(&admin.c, async {
        let record = T::get(&state.store, &id).await?;
        let pole = admin.pole_of(&state, record.pole_id).await?;
        Ok(confirm_page(
            &admin,
            Deletion {
                name: record.data.title().to_owned(),
                consequences: admin.t(&format!("admin_delete.{}_consequences", T::KIND)),
                action: format!("/admin/{}s/{id}/delete", T::KIND),
                back_url: format!("/admin/poles/{}", pole.pole.slug),
            },
        ))
    })
    .await
}

/// `POST /admin/{kind}s/{id}/delete`: deletes, and followers are sent the `Delete`.
pub async fn delete<T: Publication>(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |_| {
        let record = T::get(&state.store, &id).await?;
        let pole = admin.pole_of(&state, record.pole_id).await?;
        T::delete(&state.store, &id).await?;
        tracing::info!(id = %id, user = %admin.auth.user.username, "deleted with delete_{}", T::KIND);
        let to = format!("/admin/poles/{}", pole.pole.slug);
        Ok(Answer::done(to, admin.t("admin.deleted")))
    })
    .await
}

/// The store's functions that keep one kind of publication, as [`Publication`] names them:
/// `stored_by!(Event, event, create_event, edit_event, delete_event)`.
macro_rules! stored_by {
    ($data:ty, $get:ident, $create:ident, $edit:ident, $delete:ident) => {
        fn get(
            store: &$crate::store::Store,
            id: &str,
        ) -> impl Future<Output = Result<$crate::store::ObjectRecord<$data>, $crate::store::StoreError>> + Send
        {
            store.$get(id)
        }

        fn create(
            store: &$crate::store::Store,
            pole_id: i64,
            data: &$data,
        ) -> impl Future<Output = Result<$crate::store::ObjectRecord<$data>, $crate::store::StoreError>> + Send
        {
            store.$create(pole_id, data)
        }

        fn edit(
            store: &$crate::store::Store,
            id: &str,
            expected: Option<i32>,
            data: $data,
        ) -> impl Future<Output = Result<$crate::store::ObjectRecord<$data>, $crate::store::StoreError>> + Send
        {
            store.$edit(id, expected, move |_| {
                Ok::<_, $crate::store::StoreError>(data.clone())
            })
        }

        fn delete(
            store: &$crate::store::Store,
            id: &str,
        ) -> impl Future<Output = Result<(), $crate::store::StoreError>> + Send {
            store.$delete(id)
        }
    };
}
pub(super) use stored_by;
