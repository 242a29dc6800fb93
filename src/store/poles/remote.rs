//! The poles of other instances as this one copies them, found by id, handle or slug, and
//! the actors that organise remote events.
//!
//! Invariant: a remote pole is never local, and what is deleted on its server is marked
//! deleted here with everything it published, out of the directory.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QuerySelect, Set,
};
use sha2::{Digest, Sha256};

use super::members::set_member_columns;
use super::{PoleRecord, set_pole_columns};
use crate::domain::{Member, Pole};
use crate::store::changes::{self, Action, Change};
use crate::store::convert::to_json;
use crate::store::entities::{members, poles};
use crate::store::{PageRequest, Result, Store, StoreError, search};

impl Store {
    /// A pole by its actor id, local or remote, deleted or not.
    pub async fn pole_by_ap_id(&self, ap_id: &str) -> Result<Option<PoleRecord>> {
        let Some(model) = poles::Entity::find()
            .filter(poles::Column::ApId.eq(ap_id))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(self.pole_record(&self.db, model).await?))
    }

    /// A pole of another instance by its handle's parts; deleted ones are `Gone`.
    pub async fn remote_pole(&self, slug: &str, domain: &str) -> Result<PoleRecord> {
        let model = poles::Entity::find()
            .filter(poles::Column::Local.eq(false))
            .filter(poles::Column::Slug.eq(slug))
            .filter(poles::Column::Domain.eq(domain.to_ascii_lowercase()))
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("pole `{slug}@{domain}`")))?;
        if model.deleted_at.is_some() {
            return Err(StoreError::Gone(format!("pole `{slug}@{domain}`")));
        }
        self.pole_record(&self.db, model).await
    }

    /// Stores the profile of a pole of another instance, with its members, as its actor
    /// document describes it: created the first time, replaced after.
    pub async fn upsert_remote_pole(
        &self,
        ap_id: &str,
        domain: &str,
        pole: &Pole,
        members: &[Member],
    ) -> Result<PoleRecord> {
        retrying!(store: self.write_remote_pole(ap_id, domain, pole, members).await)
    }

    async fn write_remote_pole(
        &self,
        ap_id: &str,
        domain: &str,
        pole: &Pole,
        members: &[Member],
    ) -> Result<PoleRecord> {
        let txn = self.write_txn().await?;
        let domain = domain.to_ascii_lowercase();
        let existing = poles::Entity::find()
            .filter(poles::Column::ApId.eq(ap_id))
            .lock_exclusive()
            .one(&txn)
            .await?;
        let now = Utc::now();
        let (model, action) = match existing {
            Some(m) if m.local => {
                return Err(StoreError::Conflict(format!("`{ap_id}` is a local pole")));
            }
            Some(m) => {
                let version = m.version + 1;
                let mut am = m.into_active_model();
                set_pole_columns(&mut am, pole)?;
                am.slug = Set(pole.slug.clone());
                am.version = Set(version);
                am.updated_at = Set(now);
                am.deleted_at = Set(None);
                (am.update(&txn).await?, Action::Update)
            }
            None => {
                // A handle now pointing at another actor (the pole moved or was recreated):
                // the old row gives up its slug.
                if let Some(old) = poles::Entity::find()
                    .filter(poles::Column::Domain.eq(&domain))
                    .filter(poles::Column::Slug.eq(&pole.slug))
                    .one(&txn)
                    .await?
                {
                    if old.local {
                        return Err(StoreError::Conflict(format!(
                            "`{}@{domain}` is a local pole",
                            pole.slug
                        )));
                    }
                    search::unindex_pole(&txn, old.id).await?;
                    let mut am = old.into_active_model();
                    am.slug = Set(format!("{}~{}", pole.slug, uuid::Uuid::now_v7().simple()));
                    am.deleted_at = Set(Some(now));
                    am.update(&txn).await?;
                }
                let mut am = poles::ActiveModel {
                    ap_id: Set(ap_id.to_owned()),
                    local: Set(false),
                    domain: Set(domain.clone()),
                    slug: Set(pole.slug.clone()),
                    logo_media_id: Set(None),
                    banner_media_id: Set(None),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                    deleted_at: Set(None),
                    ..Default::default()
                };
                set_pole_columns(&mut am, pole)?;
                (am.insert(&txn).await?, Action::Create)
            }
        };
        members::Entity::delete_many()
            .filter(members::Column::PoleId.eq(model.id))
            .exec(&txn)
            .await?;
        for member in members {
            let mut am = members::ActiveModel {
                pole_id: Set(model.id),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            };
            set_member_columns(&mut am, member);
            am.insert(&txn).await?;
        }
        changes::record(
            &txn,
            Change {
                pole_id: model.id,
                kind: "pole",
                object_id: model.id,
                ap_id: Some(ap_id),
                action,
                version: model.version,
                snapshot: Some(to_json(pole)?),
            },
        )
        .await?;
        search::index_pole(&txn, model.id, true).await?;
        let record = self.pole_record(&txn, model).await?;
        txn.commit().await?;
        Ok(record)
    }

    /// Marks a pole of another instance deleted, with what it published; `false` if it was
    /// not known or already deleted.
    pub async fn delete_remote_pole(&self, ap_id: &str) -> Result<bool> {
        retrying!(store: self.mark_remote_pole_deleted(ap_id).await)
    }

    async fn mark_remote_pole_deleted(&self, ap_id: &str) -> Result<bool> {
        let txn = self.write_txn().await?;
        let Some(model) = poles::Entity::find()
            .filter(poles::Column::ApId.eq(ap_id))
            .filter(poles::Column::Local.eq(false))
            .filter(poles::Column::DeletedAt.is_null())
            .lock_exclusive()
            .one(&txn)
            .await?
        else {
            return Ok(false);
        };
        let version = model.version + 1;
        let id = model.id;
        crate::store::objects::delete_objects_of_pole(&txn, id).await?;
        search::unindex_pole(&txn, id).await?;
        let now = Utc::now();
        let mut am = model.into_active_model();
        am.version = Set(version);
        am.deleted_at = Set(Some(now));
        am.updated_at = Set(now);
        am.update(&txn).await?;
        changes::record(
            &txn,
            Change {
                pole_id: id,
                kind: "pole",
                object_id: id,
                ap_id: Some(ap_id),
                action: Action::Delete,
                version,
                snapshot: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }
}

impl Store {
    /// A pole by its handle: `slug` for a pole of this instance, `slug@domain` for a pole of
    /// another instance known here.
    pub async fn pole_by_handle(&self, handle: &str) -> Result<PoleRecord> {
        match handle.trim_start_matches('@').rsplit_once('@') {
            Some((slug, domain)) if !domain.eq_ignore_ascii_case(&self.domain) => {
                self.remote_pole(slug, domain).await
            }
            Some((slug, _)) => self.pole(slug).await,
            None => self.pole(handle).await,
        }
    }
}

impl Store {
    /// Notes where a pole of another instance was just read from: `via` the instance actor
    /// that announced it (kept when `None`: the pole's own activities do not erase it), and
    /// that it is fresh now.
    pub async fn note_pole_source(&self, pole_id: i64, via: Option<&str>) -> Result<()> {
        let mut am = poles::ActiveModel {
            id: Set(pole_id),
            refreshed_at: Set(Some(Utc::now())),
            ..Default::default()
        };
        if let Some(via) = via {
            am.via = Set(Some(via.to_owned()));
        }
        am.update(&self.db).await?;
        Ok(())
    }

    /// Every live pole of this instance, all pages of `list_poles` together.
    pub async fn all_local_poles(&self) -> Result<Vec<PoleRecord>> {
        let mut out = Vec::new();
        for page in 1.. {
            let batch = self
                .list_poles(PageRequest {
                    page,
                    per_page: 100,
                })
                .await?;
            let done = page * 100 >= batch.total;
            out.extend(batch.items);
            if done {
                break;
            }
        }
        Ok(out)
    }

    /// The ids of the live poles that came through the instance actor `via`.
    pub async fn poles_via(&self, via: &str) -> Result<Vec<String>> {
        Ok(poles::Entity::find()
            .filter(poles::Column::Via.eq(via))
            .filter(poles::Column::Local.eq(false))
            .filter(poles::Column::DeletedAt.is_null())
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| m.ap_id)
            .collect())
    }
}

impl Store {
    /// Stores (or renames) the actor of other software that organises events taken in here,
    /// such as a Mobilizon group or a Gancio instance: a row of `poles` marked `ptce = false`,
    /// which is never listed or counted as a pole. `None` when the actor is a pole.
    pub async fn upsert_organiser(
        &self,
        ap_id: &str,
        domain: &str,
        username: Option<&str>,
        name: &str,
    ) -> Result<Option<PoleRecord>> {
        let txn = self.write_txn().await?;
        let domain = domain.to_ascii_lowercase();
        let now = Utc::now();
        let model = match poles::Entity::find()
            .filter(poles::Column::ApId.eq(ap_id))
            .one(&txn)
            .await?
        {
            Some(m) if m.ptce => return Ok(None),
            Some(m) if m.name == name && m.deleted_at.is_none() => m,
            Some(m) => {
                let mut am = m.into_active_model();
                am.name = Set(name.to_owned());
                am.deleted_at = Set(None);
                am.updated_at = Set(now);
                am.update(&txn).await?
            }
            None => {
                let slug = organiser_slug(username, ap_id);
                let taken = poles::Entity::find()
                    .filter(poles::Column::Domain.eq(&domain))
                    .filter(poles::Column::Slug.eq(&slug))
                    .count(&txn)
                    .await?
                    > 0;
                // Two actors of one server may share a user name (a person and a group);
                // the second one's slug is made unique with its id.
                let slug = if taken {
                    let digest = hex::encode(Sha256::digest(ap_id.as_bytes()));
                    format!("{slug}-{}", &digest[..8])
                } else {
                    slug
                };
                poles::ActiveModel {
                    ap_id: Set(ap_id.to_owned()),
                    local: Set(false),
                    ptce: Set(false),
                    domain: Set(domain),
                    slug: Set(slug),
                    name: Set(name.to_owned()),
                    communes: Set(serde_json::json!([])),
                    themes: Set(serde_json::json!([])),
                    pooling: Set(serde_json::json!([])),
                    national_calls: Set(serde_json::json!([])),
                    manually_approves_followers: Set(false),
                    replies_need_approval: Set(false),
                    logo_media_id: Set(None),
                    banner_media_id: Set(None),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                    deleted_at: Set(None),
                    refreshed_at: Set(Some(now)),
                    ..Default::default()
                }
                .insert(&txn)
                .await?
            }
        };
        let record = self.pole_record(&txn, model).await?;
        txn.commit().await?;
        Ok(Some(record))
    }
}

/// A slug for an organiser: its user name in the characters of a slug, or else a digest of
/// its id.
fn organiser_slug(username: Option<&str>, ap_id: &str) -> String {
    let slug: String = username
        .unwrap_or_default()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
        .chars()
        .take(60)
        .collect();
    if slug.is_empty() {
        let digest = hex::encode(Sha256::digest(ap_id.as_bytes()));
        format!("organiser-{}", &digest[..12])
    } else {
        slug
    }
}
