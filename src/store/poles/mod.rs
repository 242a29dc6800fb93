//! Poles, their members and their images.
//!
//! This file holds the records and the local poles with their images; `members.rs` the
//! members, `remote.rs` the poles of other instances and the organisers of their events.
//! Invariant: every write of a pole or a member runs in one transaction with its row in
//! `changes` and its directory entry.

mod members;
mod remote;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::image::CheckedImage;
use crate::domain::pole::Recognitions;
use crate::domain::territory::Territory;
use crate::domain::vocab::{LegalForm, TerritoryKind};
use crate::domain::{Member, Pole, ValidationErrors};
use crate::store::changes::{self, Action, Change};
use crate::store::convert::{from_json, opt_vocab, rich_text, rich_text_columns, to_json};
use crate::store::entities::{media, poles};
use crate::store::search;
use crate::store::write::{EditError, check_version};
use crate::store::{Page, PageRequest, Result, Store, StoreError};

/// An uploaded image, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaRef {
    pub id: i64,
    pub sha256: String,
    pub content_type: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoleRecord {
    pub id: i64,
    pub ap_id: String,
    pub local: bool,
    pub domain: String,
    /// False for an organiser of events taken from other software, which is not a pole.
    pub ptce: bool,
    pub pole: Pole,
    pub logo: Option<MediaRef>,
    pub banner: Option<MediaRef>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    pub id: i64,
    pub pole_id: i64,
    pub member: Member,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which image of a pole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSlot {
    Logo,
    Banner,
}

fn pole_from_model(m: &poles::Model) -> Result<Pole> {
    Ok(Pole {
        slug: m.slug.clone(),
        name: m.name.clone(),
        summary: m.summary.clone(),
        description: rich_text(
            m.description.clone(),
            m.description_format.clone(),
            m.description_html.clone(),
        )?,
        website: m.website.clone(),
        contact_email: m.contact_email.clone(),
        contact_phone: m.contact_phone.clone(),
        founded_year: m.founded_year,
        legal_form: opt_vocab("legal_form", m.legal_form.as_deref(), LegalForm::from_id)?,
        siren: m.siren.clone(),
        territory: Territory {
            communes: from_json("communes", m.communes.clone())?,
            kind: opt_vocab(
                "territory_kind",
                m.territory_kind.as_deref(),
                TerritoryKind::from_id,
            )?,
            label: m.territory_label.clone(),
        },
        themes: from_json("themes", m.themes.clone())?,
        pooling: from_json("pooling", m.pooling.clone())?,
        shared_place: m
            .shared_place
            .clone()
            .map(|p| from_json("shared_place", p))
            .transpose()?,
        recognitions: Recognitions {
            national_calls: from_json("national_calls", m.national_calls.clone())?,
            charter_signed_year: m.charter_signed_year,
        },
        manually_approves_followers: m.manually_approves_followers,
        replies_need_approval: m.replies_need_approval,
    })
}

/// Writes every profile column of `pole` into `am`.
fn set_pole_columns(am: &mut poles::ActiveModel, pole: &Pole) -> Result<()> {
    let (description, format, html) = rich_text_columns(&pole.description);
    am.name = Set(pole.name.clone());
    am.summary = Set(pole.summary.clone());
    am.description = Set(description);
    am.description_format = Set(format);
    am.description_html = Set(html);
    am.website = Set(pole.website.clone());
    am.contact_email = Set(pole.contact_email.clone());
    am.contact_phone = Set(pole.contact_phone.clone());
    am.founded_year = Set(pole.founded_year);
    am.legal_form = Set(pole.legal_form.map(|l| l.id().to_owned()));
    am.siren = Set(pole.siren.clone());
    am.territory_kind = Set(pole.territory.kind.map(|k| k.id().to_owned()));
    am.territory_label = Set(pole.territory.label.clone());
    am.communes = Set(to_json(&pole.territory.communes)?);
    am.themes = Set(to_json(&pole.themes)?);
    am.pooling = Set(to_json(&pole.pooling)?);
    am.shared_place = Set(pole.shared_place.as_ref().map(to_json).transpose()?);
    am.national_calls = Set(to_json(&pole.recognitions.national_calls)?);
    am.charter_signed_year = Set(pole.recognitions.charter_signed_year);
    am.manually_approves_followers = Set(pole.manually_approves_followers);
    am.replies_need_approval = Set(pole.replies_need_approval);
    Ok(())
}

impl Store {
    async fn media_refs(
        &self,
        db: &impl ConnectionTrait,
        ids: &[Option<i64>],
    ) -> Result<Vec<MediaRef>> {
        let ids: Vec<i64> = ids.iter().flatten().copied().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, String, String)> = media::Entity::find()
            .select_only()
            .columns([
                media::Column::Id,
                media::Column::Sha256,
                media::Column::ContentType,
            ])
            .filter(media::Column::Id.is_in(ids))
            .into_tuple()
            .all(db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, sha256, content_type)| MediaRef {
                id,
                sha256,
                content_type,
            })
            .collect())
    }

    pub(super) async fn pole_record(
        &self,
        db: &impl ConnectionTrait,
        m: poles::Model,
    ) -> Result<PoleRecord> {
        let refs = self
            .media_refs(db, &[m.logo_media_id, m.banner_media_id])
            .await?;
        let find = |id: Option<i64>| id.and_then(|id| refs.iter().find(|r| r.id == id).cloned());
        Ok(PoleRecord {
            pole: pole_from_model(&m)?,
            logo: find(m.logo_media_id),
            banner: find(m.banner_media_id),
            id: m.id,
            ap_id: m.ap_id,
            local: m.local,
            domain: m.domain,
            ptce: m.ptce,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }

    /// The local pole model with this slug; deleted poles are `Gone`.
    async fn pole_model(&self, db: &impl ConnectionTrait, slug: &str) -> Result<poles::Model> {
        self.find_pole_model(db, slug, false).await
    }

    /// The same, its row locked until the transaction ends (see [`Store::lock_pole`]).
    async fn pole_model_locked(
        &self,
        db: &impl ConnectionTrait,
        slug: &str,
    ) -> Result<poles::Model> {
        self.find_pole_model(db, slug, true).await
    }

    async fn find_pole_model(
        &self,
        db: &impl ConnectionTrait,
        slug: &str,
        lock: bool,
    ) -> Result<poles::Model> {
        let mut query = poles::Entity::find()
            .filter(poles::Column::Local.eq(true))
            .filter(poles::Column::Slug.eq(slug));
        if lock {
            query = query.lock_exclusive();
        }
        let model = query
            .one(db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("pole `{slug}`")))?;
        if model.deleted_at.is_some() {
            return Err(StoreError::Gone(format!("pole `{slug}`")));
        }
        Ok(model)
    }

    pub async fn create_pole(&self, pole: &Pole) -> Result<PoleRecord> {
        retrying!(store: self.insert_pole(pole).await)
    }

    async fn insert_pole(&self, pole: &Pole) -> Result<PoleRecord> {
        let txn = self.write_txn().await?;
        let model = self.add_pole(&txn, pole).await?;
        let record = self.pole_record(&txn, model).await?;
        txn.commit().await?;
        Ok(record)
    }

    /// Which of these slugs are already used by poles of this instance, deleted ones
    /// included.
    pub async fn taken_slugs(&self, slugs: &[String]) -> Result<Vec<String>> {
        crate::store::references::taken_slugs(&self.db, &self.domain, slugs).await
    }

    /// Writes a new local pole, its change and its directory row in `txn`.
    async fn add_pole(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        pole: &Pole,
    ) -> Result<poles::Model> {
        let taken = poles::Entity::find()
            .filter(poles::Column::Domain.eq(&self.domain))
            .filter(poles::Column::Slug.eq(&pole.slug))
            .count(txn)
            .await?;
        if taken > 0 {
            return Err(ValidationErrors::single(
                "slug",
                crate::domain::Message::new(crate::domain::Code::SlugTaken)
                    .arg("value", &pole.slug),
            )
            .into());
        }
        let now = Utc::now();
        let ap_id = self.url(&format!("/poles/{}", pole.slug));
        let mut am = poles::ActiveModel {
            ap_id: Set(ap_id.clone()),
            local: Set(true),
            domain: Set(self.domain.clone()),
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
        let model = am.insert(txn).await.map_err(|e| {
            // Another request took the slug between the check above and this insert.
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) {
                StoreError::from(ValidationErrors::single(
                    "slug",
                    crate::domain::Message::new(crate::domain::Code::SlugTaken)
                        .arg("value", &pole.slug),
                ))
            } else {
                e.into()
            }
        })?;
        changes::record(
            txn,
            Change {
                pole_id: model.id,
                kind: "pole",
                object_id: model.id,
                ap_id: Some(&ap_id),
                action: Action::Create,
                version: 1,
                snapshot: Some(to_json(pole)?),
            },
        )
        .await?;
        search::index_pole(txn, model.id, true).await?;
        Ok(model)
    }

    /// Replaces the profile (the slug cannot change).
    pub async fn update_pole(&self, slug: &str, pole: &Pole) -> Result<PoleRecord> {
        self.edit_pole(slug, None, |_| Ok::<_, StoreError>(pole.clone()))
            .await
    }

    /// Changes the profile from the one stored, read and locked in the write's own
    /// transaction, so that concurrent edits of different fields all survive: `edit` is
    /// given the stored profile and gives the new one. With `expected`, the write is refused
    /// (`Stale`) unless the stored version is that one.
    pub async fn edit_pole<E: From<StoreError>>(
        &self,
        slug: &str,
        expected: Option<i32>,
        mut edit: impl FnMut(&Pole) -> std::result::Result<Pole, E>,
    ) -> std::result::Result<PoleRecord, E> {
        retrying!({
            let txn = self.write_txn().await?;
            let model = self.pole_model_locked(&txn, slug).await?;
            check_version(|| format!("pole `{slug}`"), expected, model.version)?;
            let pole = edit(&pole_from_model(&model)?).map_err(EditError::Edit)?;
            if pole.slug != slug {
                return Err(ValidationErrors::single(
                    "slug",
                    crate::domain::Message::new(crate::domain::Code::SlugUnchangeable)
                        .arg("value", slug),
                )
                .into());
            }
            // Saving the profile as it is publishes nothing: no version, no history, no Update.
            if pole == pole_from_model(&model)? {
                let record = self.pole_record(&txn, model).await?;
                txn.commit().await?;
                return Ok(record);
            }
            let version = model.version + 1;
            let mut am = model.into_active_model();
            set_pole_columns(&mut am, &pole)?;
            am.version = Set(version);
            am.updated_at = Set(Utc::now());
            let model = am.update(&txn).await?;
            changes::record(
                &txn,
                Change {
                    pole_id: model.id,
                    kind: "pole",
                    object_id: model.id,
                    ap_id: Some(&model.ap_id),
                    action: Action::Update,
                    version,
                    snapshot: Some(to_json(&pole)?),
                },
            )
            .await?;
            search::index_pole(&txn, model.id, true).await?;
            let record = self.pole_record(&txn, model).await?;
            txn.commit().await?;
            Ok(record)
        })
    }

    /// Marks the pole deleted; its row stays so that its identifier is never reused.
    pub async fn delete_pole(&self, slug: &str) -> Result<()> {
        retrying!({
            let txn = self.write_txn().await?;
            let model = self.pole_model_locked(&txn, slug).await?;
            let version = model.version + 1;
            let (id, ap_id) = (model.id, model.ap_id.clone());
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
                    ap_id: Some(&ap_id),
                    action: Action::Delete,
                    version,
                    snapshot: None,
                },
            )
            .await?;
            txn.commit().await?;
            Ok::<_, EditError<StoreError>>(())
        })
    }

    pub async fn pole(&self, slug: &str) -> Result<PoleRecord> {
        let model = self.pole_model(&self.db, slug).await?;
        self.pole_record(&self.db, model).await
    }

    pub async fn pole_by_id(&self, id: i64) -> Result<PoleRecord> {
        let model = poles::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("pole {id}")))?;
        self.pole_record(&self.db, model).await
    }

    /// Local poles that are not deleted, by name.
    pub async fn list_poles(&self, page: PageRequest) -> Result<Page<PoleRecord>> {
        let paginator = poles::Entity::find()
            .filter(poles::Column::Local.eq(true))
            .filter(poles::Column::DeletedAt.is_null())
            .order_by_asc(poles::Column::Name)
            .order_by_asc(poles::Column::Id)
            .paginate(&self.db, page.per_page);
        let total = paginator.num_items().await?;
        let models = paginator.fetch_page(page.page.saturating_sub(1)).await?;
        let mut items = Vec::with_capacity(models.len());
        for m in models {
            items.push(self.pole_record(&self.db, m).await?);
        }
        Ok(Page {
            items,
            page: page.page,
            per_page: page.per_page,
            total,
        })
    }

    /// Stores an image (deduplicated by content); only a checked image can be given.
    pub async fn put_media(&self, image: CheckedImage) -> Result<MediaRef> {
        let content_type = image.content_type();
        let bytes = image.into_bytes();
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if let Some((id, content_type)) = media::Entity::find()
            .select_only()
            .columns([media::Column::Id, media::Column::ContentType])
            .filter(media::Column::Sha256.eq(&sha256))
            .into_tuple::<(i64, String)>()
            .one(&self.db)
            .await?
        {
            return Ok(MediaRef {
                id,
                sha256,
                content_type,
            });
        }
        let model = media::ActiveModel {
            sha256: Set(sha256.clone()),
            content_type: Set(content_type.to_owned()),
            size: Set(i64::try_from(bytes.len()).unwrap_or(i64::MAX)),
            data: Set(bytes),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(MediaRef {
            id: model.id,
            sha256,
            content_type: content_type.to_owned(),
        })
    }

    /// The content type and bytes of an image, by its SHA-256.
    pub async fn media(&self, sha256: &str) -> Result<(String, Vec<u8>)> {
        let model = media::Entity::find()
            .filter(media::Column::Sha256.eq(sha256))
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("image {sha256}")))?;
        Ok((model.content_type, model.data))
    }

    /// Sets or removes the logo or banner; the profile changes, so its version does too.
    pub async fn set_pole_image(
        &self,
        slug: &str,
        slot: ImageSlot,
        media_id: Option<i64>,
    ) -> Result<PoleRecord> {
        retrying!({
            let txn = self.write_txn().await?;
            let model = self.pole_model_locked(&txn, slug).await?;
            let stored = match slot {
                ImageSlot::Logo => model.logo_media_id,
                ImageSlot::Banner => model.banner_media_id,
            };
            // The same image again, or removing one there is not, changes nothing.
            if stored == media_id {
                let record = self.pole_record(&txn, model).await?;
                txn.commit().await?;
                return Ok::<_, EditError<StoreError>>(record);
            }
            let version = model.version + 1;
            let mut am = model.into_active_model();
            match slot {
                ImageSlot::Logo => am.logo_media_id = Set(media_id),
                ImageSlot::Banner => am.banner_media_id = Set(media_id),
            }
            am.version = Set(version);
            am.updated_at = Set(Utc::now());
            let model = am.update(&txn).await?;
            let pole = pole_from_model(&model)?;
            changes::record(
                &txn,
                Change {
                    pole_id: model.id,
                    kind: "pole",
                    object_id: model.id,
                    ap_id: Some(&model.ap_id),
                    action: Action::Update,
                    version,
                    snapshot: Some(to_json(&pole)?),
                },
            )
            .await?;
            let record = self.pole_record(&txn, model).await?;
            txn.commit().await?;
            Ok::<_, EditError<StoreError>>(record)
        })
    }

    /// The poles of other instances this one knows and shows (not deleted), and on how
    /// many instances they are: what a network's instance aggregates.
    pub async fn poles_elsewhere(&self) -> Result<(u64, u64)> {
        let elsewhere = || {
            poles::Entity::find()
                .filter(poles::Column::Local.eq(false))
                .filter(poles::Column::Ptce.eq(true))
                .filter(poles::Column::DeletedAt.is_null())
        };
        let count = elsewhere().count(&self.db).await?;
        let instances = elsewhere()
            .select_only()
            .column(poles::Column::Domain)
            .distinct()
            .into_tuple::<String>()
            .all(&self.db)
            .await?
            .len();
        Ok((count, instances as u64))
    }

    /// Number of local poles that are not deleted.
    pub async fn count_poles(&self) -> Result<u64> {
        Ok(poles::Entity::find()
            .filter(poles::Column::Local.eq(true))
            .filter(poles::Column::DeletedAt.is_null())
            .count(&self.db)
            .await?)
    }
}
