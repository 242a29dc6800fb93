//! What a pole publishes: projects, events and calls for cooperation.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use super::changes::{self, Action, Change};
use super::convert::{from_json, opt_vocab, rich_text, rich_text_columns, to_json, vocab};
use super::entities::{calls, events, projects};
use super::references::{unknown_members, unknown_poles};
use super::search::{self, DirectoryKind};
use super::write::{EditError, check_version};
use super::{Page, PageRequest, Result, Store, StoreError};
use crate::domain::territory::Territory;
use crate::domain::vocab::{CallDirection, CallStatus, EventStatus, ProjectStatus, TerritoryKind};
use crate::domain::{CallForCooperation, Event, Project, ValidationErrors};

/// The kinds of object a pole publishes, as named in URLs and in the change history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Project,
    Event,
    Call,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Project, Kind::Event, Kind::Call];

    pub fn id(self) -> &'static str {
        match self {
            Kind::Project => "project",
            Kind::Event => "event",
            Kind::Call => "call",
        }
    }

    /// The path segment of the object's URLs.
    pub fn path(self) -> &'static str {
        match self {
            Kind::Project => "projects",
            Kind::Event => "events",
            Kind::Call => "calls",
        }
    }

    /// The kind of the object's entry in the directory.
    pub fn directory_kind(self) -> DirectoryKind {
        match self {
            Kind::Project => DirectoryKind::Project,
            Kind::Event => DirectoryKind::Event,
            Kind::Call => DirectoryKind::Call,
        }
    }
}

/// A stored object with the identifiers and dates every kind shares.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRecord<T> {
    pub id: i64,
    pub public_id: String,
    pub ap_id: String,
    pub local: bool,
    pub pole_id: i64,
    pub version: i32,
    pub published_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub data: T,
}

/// An `ObjectRecord` from a row: the data first (it moves most columns), then the shared columns.
macro_rules! object_record {
    ($m:ident, $data:expr) => {
        ObjectRecord {
            data: $data,
            id: $m.id,
            public_id: $m.public_id,
            ap_id: $m.ap_id,
            local: $m.local,
            pole_id: $m.pole_id,
            version: $m.version,
            published_at: $m.published_at,
            created_at: $m.created_at,
            updated_at: $m.updated_at,
        }
    };
}

fn territory(
    communes: sea_orm::prelude::Json,
    kind: Option<String>,
    label: Option<String>,
) -> Result<Territory> {
    Ok(Territory {
        communes: from_json("communes", communes)?,
        kind: opt_vocab("territory_kind", kind.as_deref(), TerritoryKind::from_id)?,
        label,
    })
}

pub(super) fn project_from_model(m: projects::Model) -> Result<ObjectRecord<Project>> {
    Ok(object_record!(
        m,
        Project {
            title: m.title,
            summary: m.summary,
            description: rich_text(m.description, m.description_format, m.description_html)?,
            status: vocab("status", &m.status, ProjectStatus::from_id)?,
            partner_member_ids: from_json("partner_member_ids", m.partner_member_ids)?,
            themes: from_json("themes", m.themes)?,
            territory: territory(m.communes, m.territory_kind, m.territory_label)?,
            start_date: m.start_date,
            end_date: m.end_date,
            links: from_json("links", m.links)?,
        }
    ))
}

fn set_project_columns(am: &mut projects::ActiveModel, p: &Project) -> Result<()> {
    let (description, format, html) = rich_text_columns(&p.description);
    am.title = Set(p.title.clone());
    am.summary = Set(p.summary.clone());
    am.description = Set(description);
    am.description_format = Set(format);
    am.description_html = Set(html);
    am.status = Set(p.status.id().to_owned());
    am.partner_member_ids = Set(to_json(&p.partner_member_ids)?);
    am.themes = Set(to_json(&p.themes)?);
    am.communes = Set(to_json(&p.territory.communes)?);
    am.territory_kind = Set(p.territory.kind.map(|k| k.id().to_owned()));
    am.territory_label = Set(p.territory.label.clone());
    am.start_date = Set(p.start_date);
    am.end_date = Set(p.end_date);
    am.links = Set(to_json(&p.links)?);
    Ok(())
}

pub(super) fn event_from_model(m: events::Model) -> Result<ObjectRecord<Event>> {
    Ok(object_record!(
        m,
        Event {
            title: m.title,
            summary: m.summary,
            description: rich_text(m.description, m.description_format, m.description_html)?,
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            timezone: m.timezone,
            place: m.place.map(|p| from_json("place", p)).transpose()?,
            online_url: m.online_url,
            organiser_poles: from_json("organiser_poles", m.organiser_poles)?,
            registration_url: m.registration_url,
            capacity: m.capacity.and_then(|c| u32::try_from(c).ok()),
            status: vocab("status", &m.status, EventStatus::from_id)?,
            themes: from_json("themes", m.themes)?,
            source_url: m.source_url,
        }
    ))
}

fn set_event_columns(am: &mut events::ActiveModel, e: &Event) -> Result<()> {
    let (description, format, html) = rich_text_columns(&e.description);
    am.title = Set(e.title.clone());
    am.summary = Set(e.summary.clone());
    am.description = Set(description);
    am.description_format = Set(format);
    am.description_html = Set(html);
    am.starts_at = Set(e.starts_at);
    am.ends_at = Set(e.ends_at);
    am.timezone = Set(e.timezone.clone());
    am.place = Set(e.place.as_ref().map(to_json).transpose()?);
    am.online_url = Set(e.online_url.clone());
    am.organiser_poles = Set(to_json(&e.organiser_poles)?);
    am.themes = Set(to_json(&e.themes)?);
    am.registration_url = Set(e.registration_url.clone());
    am.capacity = Set(e.capacity.map(|c| i32::try_from(c).unwrap_or(i32::MAX)));
    am.status = Set(e.status.id().to_owned());
    am.source_url = Set(e.source_url.clone());
    Ok(())
}

pub(super) fn call_from_model(m: calls::Model) -> Result<ObjectRecord<CallForCooperation>> {
    Ok(object_record!(
        m,
        CallForCooperation {
            title: m.title,
            summary: m.summary,
            description: rich_text(m.description, m.description_format, m.description_html)?,
            direction: vocab("direction", &m.direction, CallDirection::from_id)?,
            subjects: from_json("subjects", m.subjects)?,
            themes: from_json("themes", m.themes)?,
            territory: territory(m.communes, m.territory_kind, m.territory_label)?,
            deadline: m.deadline,
            how_to_answer: m.how_to_answer,
            status: vocab("status", &m.status, CallStatus::from_id)?,
        }
    ))
}

fn set_call_columns(am: &mut calls::ActiveModel, c: &CallForCooperation) -> Result<()> {
    let (description, format, html) = rich_text_columns(&c.description);
    am.title = Set(c.title.clone());
    am.summary = Set(c.summary.clone());
    am.description = Set(description);
    am.description_format = Set(format);
    am.description_html = Set(html);
    am.direction = Set(c.direction.id().to_owned());
    am.subjects = Set(to_json(&c.subjects)?);
    am.themes = Set(to_json(&c.themes)?);
    am.communes = Set(to_json(&c.territory.communes)?);
    am.territory_kind = Set(c.territory.kind.map(|k| k.id().to_owned()));
    am.territory_label = Set(c.territory.label.clone());
    am.deadline = Set(c.deadline);
    am.how_to_answer = Set(c.how_to_answer.clone());
    am.status = Set(c.status.id().to_owned());
    Ok(())
}

/// Create, read, update, delete and list for one kind of object; the kinds differ only in
/// their columns, so the history and tombstone rules are written once here.
macro_rules! object_methods {
    (
        $kind:expr, $entity:ident, $data:ty, $from:ident, $set:ident, $order:expr,
        $refs:ident,
        $create:ident, $update:ident, $edit:ident, $delete:ident, $get:ident, $list:ident,
        $delete_of_pole:ident, $upsert_remote:ident, $delete_remote:ident, $get_by_ap_id:ident
    ) => {
        /// Marks every live object of a deleted pole deleted too, each with its history row.
        async fn $delete_of_pole(txn: &sea_orm::DatabaseTransaction, pole_id: i64) -> Result<()> {
            let live = $entity::Entity::find()
                .filter($entity::Column::PoleId.eq(pole_id))
                .filter($entity::Column::DeletedAt.is_null())
                .all(txn)
                .await?;
            let now = Utc::now();
            for model in live {
                let version = model.version + 1;
                let (id, ap_id) = (model.id, model.ap_id.clone());
                let mut am = model.into_active_model();
                am.version = Set(version);
                am.deleted_at = Set(Some(now));
                am.updated_at = Set(now);
                am.update(txn).await?;
                changes::record(
                    txn,
                    Change {
                        pole_id,
                        kind: $kind.id(),
                        object_id: id,
                        ap_id: Some(&ap_id),
                        action: Action::Delete,
                        version,
                        snapshot: None,
                    },
                )
                .await?;
            }
            Ok(())
        }

        impl Store {
            pub async fn $create(&self, pole_id: i64, data: &$data) -> Result<ObjectRecord<$data>> {
                retrying!(store: {
                    let txn = self.write_txn().await?;
                    self.lock_pole(&txn, pole_id).await?;
                    $refs(&txn, pole_id, data).await?;
                    let now = Utc::now();
                    let public_id = uuid::Uuid::now_v7().to_string();
                    let ap_id = self.url(&format!("/{}/{public_id}", $kind.path()));
                    let mut am = $entity::ActiveModel {
                        public_id: Set(public_id),
                        ap_id: Set(ap_id.clone()),
                        local: Set(true),
                        pole_id: Set(pole_id),
                        version: Set(1),
                        published_at: Set(now),
                        created_at: Set(now),
                        updated_at: Set(now),
                        deleted_at: Set(None),
                        ..Default::default()
                    };
                    $set(&mut am, data)?;
                    let model = am.insert(&txn).await?;
                    changes::record(
                        &txn,
                        Change {
                            pole_id,
                            kind: $kind.id(),
                            object_id: model.id,
                            ap_id: Some(&ap_id),
                            action: Action::Create,
                            version: 1,
                            snapshot: Some(to_json(data)?),
                        },
                    )
                    .await?;
                    search::index_object(&txn, &model).await?;
                    txn.commit().await?;
                    $from(model)
                })
            }

            pub async fn $update(
                &self,
                public_id: &str,
                data: &$data,
            ) -> Result<ObjectRecord<$data>> {
                self.$edit(public_id, None, |_| Ok::<_, StoreError>(data.clone()))
                    .await
            }

            /// Changes the object from the one stored, read and locked in the write's own
            /// transaction, so that concurrent edits of different fields all survive and
            /// each gets the next version: `edit` is given the stored data and gives the new
            /// data. With `expected`, the write is refused (`Stale`) unless the stored
            /// version is that one.
            pub async fn $edit<E: From<StoreError>>(
                &self,
                public_id: &str,
                expected: Option<i32>,
                mut edit: impl FnMut(&$data) -> std::result::Result<$data, E>,
            ) -> std::result::Result<ObjectRecord<$data>, E> {
                retrying!({
                    let txn = self.write_txn().await?;
                    let model = self
                        .locked_live_model::<$entity::Entity>(
                            &txn,
                            $kind,
                            $entity::Column::PublicId.eq(public_id),
                            |m: &$entity::Model| m.pole_id,
                            |m: &$entity::Model| m.deleted_at.is_some(),
                        )
                        .await?;
                    check_version(|| format!("this {}", $kind.id()), expected, model.version)?;
                    let current = $from(model.clone())?;
                    let data = edit(&current.data).map_err(EditError::Edit)?;
                    let pole_id = model.pole_id;
                    $refs(&txn, pole_id, &data).await?;
                    // Saving it as it is publishes nothing: no version, no history, no Update.
                    if data == current.data {
                        txn.commit().await?;
                        return Ok(current);
                    }
                    let version = model.version + 1;
                    let mut am = model.into_active_model();
                    $set(&mut am, &data)?;
                    am.version = Set(version);
                    am.updated_at = Set(Utc::now());
                    let model = am.update(&txn).await?;
                    changes::record(
                        &txn,
                        Change {
                            pole_id,
                            kind: $kind.id(),
                            object_id: model.id,
                            ap_id: Some(&model.ap_id),
                            action: Action::Update,
                            version,
                            snapshot: Some(to_json(&data)?),
                        },
                    )
                    .await?;
                    search::index_object(&txn, &model).await?;
                    txn.commit().await?;
                    Ok($from(model)?)
                })
            }

            /// Marks the object deleted: it answers as a tombstone from now on.
            pub async fn $delete(&self, public_id: &str) -> Result<()> {
                retrying!(store: {
                    let txn = self.write_txn().await?;
                    let model = self
                        .locked_live_model::<$entity::Entity>(
                            &txn,
                            $kind,
                            $entity::Column::PublicId.eq(public_id),
                            |m: &$entity::Model| m.pole_id,
                            |m: &$entity::Model| m.deleted_at.is_some(),
                        )
                        .await?;
                    let version = model.version + 1;
                    let (pole_id, id, ap_id) = (model.pole_id, model.id, model.ap_id.clone());
                    let mut am = model.into_active_model();
                    am.version = Set(version);
                    am.deleted_at = Set(Some(Utc::now()));
                    am.updated_at = Set(Utc::now());
                    am.update(&txn).await?;
                    changes::record(
                        &txn,
                        Change {
                            pole_id,
                            kind: $kind.id(),
                            object_id: id,
                            ap_id: Some(&ap_id),
                            action: Action::Delete,
                            version,
                            snapshot: None,
                        },
                    )
                    .await?;
                    search::unindex_object(&txn, $kind.directory_kind(), id).await?;
                    txn.commit().await?;
                    Ok(())
                })
            }

            /// Stores an object received from the instance of the remote pole `pole_id`:
            /// created the first time, updated after. A deleted object stays deleted.
            pub async fn $upsert_remote(
                &self,
                pole_id: i64,
                ap_id: &str,
                data: &$data,
                published: DateTime<Utc>,
            ) -> Result<ObjectRecord<$data>> {
                retrying!(store: {
                    let txn = self.write_txn().await?;
                    self.lock_pole(&txn, pole_id).await?;
                    let existing = $entity::Entity::find()
                        .filter($entity::Column::ApId.eq(ap_id))
                        .lock_exclusive()
                        .one(&txn)
                        .await?;
                    let now = Utc::now();
                    let (model, action) = match existing {
                        Some(m) if m.local || m.pole_id != pole_id => {
                            return Err(StoreError::Conflict(format!(
                                "`{ap_id}` belongs to another pole"
                            )));
                        }
                        Some(m) if m.deleted_at.is_some() => {
                            return Err(StoreError::Gone(format!("`{ap_id}`")));
                        }
                        Some(m) => {
                            let version = m.version + 1;
                            let mut am = m.into_active_model();
                            $set(&mut am, data)?;
                            am.version = Set(version);
                            am.updated_at = Set(now);
                            am.refreshed_at = Set(Some(now));
                            (am.update(&txn).await?, Action::Update)
                        }
                        None => {
                            let mut am = $entity::ActiveModel {
                                public_id: Set(uuid::Uuid::now_v7().to_string()),
                                ap_id: Set(ap_id.to_owned()),
                                local: Set(false),
                                pole_id: Set(pole_id),
                                version: Set(1),
                                published_at: Set(published),
                                created_at: Set(now),
                                updated_at: Set(now),
                                deleted_at: Set(None),
                                refreshed_at: Set(Some(now)),
                                ..Default::default()
                            };
                            $set(&mut am, data)?;
                            (am.insert(&txn).await?, Action::Create)
                        }
                    };
                    changes::record(
                        &txn,
                        Change {
                            pole_id,
                            kind: $kind.id(),
                            object_id: model.id,
                            ap_id: Some(ap_id),
                            action,
                            version: model.version,
                            snapshot: Some(to_json(data)?),
                        },
                    )
                    .await?;
                    search::index_object(&txn, &model).await?;
                    txn.commit().await?;
                    $from(model)
                })
            }

            /// Marks deleted an object of the remote pole `pole_id`; `false` if there was
            /// none live.
            pub async fn $delete_remote(&self, pole_id: i64, ap_id: &str) -> Result<bool> {
                retrying!(store: {
                    let txn = self.write_txn().await?;
                    self.lock_pole(&txn, pole_id).await?;
                    let Some(model) = $entity::Entity::find()
                        .filter($entity::Column::ApId.eq(ap_id))
                        .filter($entity::Column::PoleId.eq(pole_id))
                        .filter($entity::Column::Local.eq(false))
                        .filter($entity::Column::DeletedAt.is_null())
                        .lock_exclusive()
                        .one(&txn)
                        .await?
                    else {
                        return Ok(false);
                    };
                    let version = model.version + 1;
                    let id = model.id;
                    let mut am = model.into_active_model();
                    am.version = Set(version);
                    am.deleted_at = Set(Some(Utc::now()));
                    am.updated_at = Set(Utc::now());
                    am.update(&txn).await?;
                    changes::record(
                        &txn,
                        Change {
                            pole_id,
                            kind: $kind.id(),
                            object_id: id,
                            ap_id: Some(ap_id),
                            action: Action::Delete,
                            version,
                            snapshot: None,
                        },
                    )
                    .await?;
                    search::unindex_object(&txn, $kind.directory_kind(), id).await?;
                    txn.commit().await?;
                    Ok(true)
                })
            }

            /// An object by its ActivityPub id, local or remote, deleted or not.
            pub async fn $get_by_ap_id(
                &self,
                ap_id: &str,
            ) -> Result<Option<(ObjectRecord<$data>, bool)>> {
                let Some(model) = $entity::Entity::find()
                    .filter($entity::Column::ApId.eq(ap_id))
                    .one(&self.db)
                    .await?
                else {
                    return Ok(None);
                };
                let deleted = model.deleted_at.is_some();
                Ok(Some(($from(model)?, deleted)))
            }

            pub async fn $get(&self, public_id: &str) -> Result<ObjectRecord<$data>> {
                let model = live_model::<$entity::Entity>(
                    &self.db,
                    $kind,
                    $entity::Column::PublicId.eq(public_id),
                    false,
                    |m: &$entity::Model| m.deleted_at.is_some(),
                )
                .await?;
                $from(model)
            }

            pub async fn $list(
                &self,
                pole_id: i64,
                page: PageRequest,
            ) -> Result<Page<ObjectRecord<$data>>> {
                let (column, order) = $order;
                let paginator = $entity::Entity::find()
                    .filter($entity::Column::PoleId.eq(pole_id))
                    .filter($entity::Column::DeletedAt.is_null())
                    .order_by(column, order)
                    .order_by_desc($entity::Column::Id)
                    .paginate(&self.db, page.per_page);
                let total = paginator.num_items().await?;
                let items = paginator
                    .fetch_page(page.page.saturating_sub(1))
                    .await?
                    .into_iter()
                    .map($from)
                    .collect::<Result<Vec<_>>>()?;
                Ok(Page {
                    items,
                    page: page.page,
                    per_page: page.per_page,
                    total,
                })
            }
        }
    };
}

impl Store {
    /// The row matching `filter`, refusing deleted ones as `Gone`, its pole's row and then
    /// its own locked until the transaction ends (see [`Store::lock_pole`]).
    async fn locked_live_model<E: EntityTrait>(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        kind: Kind,
        filter: sea_orm::sea_query::SimpleExpr,
        pole_of: impl Fn(&E::Model) -> i64,
        deleted: impl Fn(&E::Model) -> bool,
    ) -> Result<E::Model> {
        // The pole is known only from the object; it never changes, so the object is read
        // once to find it and once more under the locks.
        let model = live_model::<E>(txn, kind, filter.clone(), false, &deleted).await?;
        self.lock_pole(txn, pole_of(&model)).await?;
        live_model::<E>(txn, kind, filter, true, &deleted).await
    }
}

/// The row matching `filter`, refusing deleted ones as `Gone`.
async fn live_model<E: EntityTrait>(
    db: &impl ConnectionTrait,
    kind: Kind,
    filter: sea_orm::sea_query::SimpleExpr,
    lock: bool,
    deleted: impl Fn(&E::Model) -> bool,
) -> Result<E::Model> {
    let mut query = E::find().filter(filter);
    if lock {
        query = query.lock_exclusive();
    }
    let model = query
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound(kind.id().to_owned()))?;
    if deleted(&model) {
        return Err(StoreError::Gone(format!("this {}", kind.id())));
    }
    Ok(model)
}

object_methods!(
    Kind::Project,
    projects,
    Project,
    project_from_model,
    set_project_columns,
    (projects::Column::PublishedAt, sea_orm::Order::Desc),
    project_refs,
    create_project,
    update_project,
    edit_project,
    delete_project,
    project,
    list_projects,
    delete_projects_of_pole,
    upsert_remote_project,
    delete_remote_project,
    project_by_ap_id
);
object_methods!(
    Kind::Event,
    events,
    Event,
    event_from_model,
    set_event_columns,
    (events::Column::StartsAt, sea_orm::Order::Asc),
    event_refs,
    create_event,
    update_event,
    edit_event,
    delete_event,
    event,
    list_events,
    delete_events_of_pole,
    upsert_remote_event,
    delete_remote_event,
    event_by_ap_id
);
object_methods!(
    Kind::Call,
    calls,
    CallForCooperation,
    call_from_model,
    set_call_columns,
    (calls::Column::PublishedAt, sea_orm::Order::Desc),
    no_refs,
    create_call,
    update_call,
    edit_call,
    delete_call,
    call,
    list_calls,
    delete_calls_of_pole,
    upsert_remote_call,
    delete_remote_call,
    call_by_ap_id
);

/// What a deleted pole published is deleted with it, in the same transaction.
pub(crate) async fn delete_objects_of_pole(
    txn: &sea_orm::DatabaseTransaction,
    pole_id: i64,
) -> Result<()> {
    delete_projects_of_pole(txn, pole_id).await?;
    delete_events_of_pole(txn, pole_id).await?;
    delete_calls_of_pole(txn, pole_id).await
}

impl Store {
    /// Checks the references of a project to members, which the domain alone cannot know.
    pub async fn check_project_refs(&self, pole_id: i64, project: &Project) -> Result<()> {
        project_refs(&self.db, pole_id, project).await
    }

    /// Checks that an event's co-organisers are poles of this instance.
    pub async fn check_event_refs(&self, event: &Event) -> Result<()> {
        event_refs(&self.db, 0, event).await
    }
}

async fn project_refs(db: &impl ConnectionTrait, pole_id: i64, project: &Project) -> Result<()> {
    let unknown = unknown_members(db, pole_id, &project.partner_member_ids).await?;
    let mut errors = ValidationErrors::new();
    for (i, id) in project.partner_member_ids.iter().enumerate() {
        if unknown.contains(id) {
            errors.add(
                format!("partner_member_ids[{i}]"),
                crate::domain::Message::new(crate::domain::Code::NotAMember).arg("value", id),
            );
        }
    }
    errors.finish(|| ()).map_err(StoreError::from)
}

/// An event's co-organisers are poles of this instance (whichever pole organises it).
async fn event_refs(db: &impl ConnectionTrait, _pole_id: i64, event: &Event) -> Result<()> {
    let unknown = unknown_poles(db, &event.organiser_poles).await?;
    let mut errors = ValidationErrors::new();
    for (i, slug) in event.organiser_poles.iter().enumerate() {
        if unknown.contains(slug) {
            errors.add(
                format!("organiser_poles[{i}]"),
                crate::domain::Message::new(crate::domain::Code::UnknownPole).arg("value", slug),
            );
        }
    }
    errors.finish(|| ()).map_err(StoreError::from)
}

/// Calls refer to nothing the domain cannot check.
async fn no_refs(
    _db: &impl ConnectionTrait,
    _pole_id: i64,
    _call: &CallForCooperation,
) -> Result<()> {
    Ok(())
}
