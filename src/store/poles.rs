//! Poles, their members and their images.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::changes::{self, Action, Change};
use super::convert::{from_json, opt_vocab, rich_text, rich_text_columns, to_json, vocab};
use super::entities::{media, members, poles};
use super::write::{EditError, check_version};
use super::{Page, PageRequest, Result, Store, StoreError};
use crate::domain::image::CheckedImage;
use crate::domain::pole::Recognitions;
use crate::domain::territory::Territory;
use crate::domain::vocab::{EmployeeBand, LegalForm, TerritoryKind};
use crate::domain::{Member, Pole, ValidationErrors};

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

fn member_from_model(m: members::Model) -> Result<MemberRecord> {
    Ok(MemberRecord {
        id: m.id,
        pole_id: m.pole_id,
        member: Member {
            legal_form: vocab("legal_form", &m.legal_form, LegalForm::from_id)?,
            employee_band: opt_vocab(
                "employee_band",
                m.employee_band.as_deref(),
                EmployeeBand::from_id,
            )?,
            name: m.name,
            ess: m.ess,
            siret: m.siret,
            website: m.website,
            role: m.role,
            joined_year: m.joined_year,
        },
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn set_member_columns(am: &mut members::ActiveModel, member: &Member) {
    am.name = Set(member.name.clone());
    am.legal_form = Set(member.legal_form.id().to_owned());
    am.ess = Set(member.ess);
    am.employee_band = Set(member.employee_band.map(|b| b.id().to_owned()));
    am.siret = Set(member.siret.clone());
    am.website = Set(member.website.clone());
    am.role = Set(member.role.clone());
    am.joined_year = Set(member.joined_year);
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
        let taken = poles::Entity::find()
            .filter(poles::Column::Domain.eq(&self.domain))
            .filter(poles::Column::Slug.eq(&pole.slug))
            .count(&txn)
            .await?;
        if taken > 0 {
            return Err(ValidationErrors::single(
                "slug",
                format!(
                    "`{}` is already used by a pole of this instance (a deleted pole keeps its slug)",
                    pole.slug
                ),
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
        let model = am.insert(&txn).await.map_err(|e| {
            // Another request took the slug between the check above and this insert.
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) {
                StoreError::from(ValidationErrors::single(
                    "slug",
                    format!("`{}` is already used by a pole of this instance", pole.slug),
                ))
            } else {
                e.into()
            }
        })?;
        changes::record(
            &txn,
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
        super::search::index_pole(&txn, model.id, true).await?;
        let record = self.pole_record(&txn, model).await?;
        txn.commit().await?;
        Ok(record)
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
                    format!("cannot change once the pole exists (it is `{slug}`)"),
                )
                .into());
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
            super::search::index_pole(&txn, model.id, true).await?;
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
            super::objects::delete_objects_of_pole(&txn, id).await?;
            super::search::unindex_pole(&txn, id).await?;
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

    pub async fn list_members(
        &self,
        pole_id: i64,
        page: PageRequest,
    ) -> Result<Page<MemberRecord>> {
        let paginator = members::Entity::find()
            .filter(members::Column::PoleId.eq(pole_id))
            .order_by_asc(members::Column::Name)
            .order_by_asc(members::Column::Id)
            .paginate(&self.db, page.per_page);
        let total = paginator.num_items().await?;
        let items = paginator
            .fetch_page(page.page.saturating_sub(1))
            .await?
            .into_iter()
            .map(member_from_model)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            items,
            page: page.page,
            per_page: page.per_page,
            total,
        })
    }

    /// Number of local poles that are not deleted.
    pub async fn count_poles(&self) -> Result<u64> {
        Ok(poles::Entity::find()
            .filter(poles::Column::Local.eq(true))
            .filter(poles::Column::DeletedAt.is_null())
            .count(&self.db)
            .await?)
    }

    /// Every member of a pole, by name.
    pub async fn all_members(&self, pole_id: i64) -> Result<Vec<MemberRecord>> {
        members::Entity::find()
            .filter(members::Column::PoleId.eq(pole_id))
            .order_by_asc(members::Column::Name)
            .order_by_asc(members::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(member_from_model)
            .collect()
    }

    pub async fn member_count(&self, pole_id: i64) -> Result<u64> {
        Ok(members::Entity::find()
            .filter(members::Column::PoleId.eq(pole_id))
            .count(&self.db)
            .await?)
    }

    async fn member_model(
        &self,
        db: &impl ConnectionTrait,
        pole_id: i64,
        id: i64,
        lock: bool,
    ) -> Result<members::Model> {
        let mut query = members::Entity::find_by_id(id).filter(members::Column::PoleId.eq(pole_id));
        if lock {
            query = query.lock_exclusive();
        }
        query
            .one(db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("member {id}")))
    }

    pub async fn member(&self, pole_id: i64, id: i64) -> Result<MemberRecord> {
        member_from_model(self.member_model(&self.db, pole_id, id, false).await?)
    }

    /// Records a change of a member and writes the pole's directory row again (it counts
    /// its members), in the member's transaction.
    async fn member_changed(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        pole_id: i64,
        object_id: i64,
        action: Action,
        version: i32,
        member: Option<&Member>,
    ) -> Result<()> {
        changes::record(
            txn,
            Change {
                pole_id,
                kind: "member",
                object_id,
                ap_id: None,
                action,
                version,
                snapshot: member.map(to_json).transpose()?,
            },
        )
        .await?;
        super::search::index_pole(txn, pole_id, false).await
    }

    pub async fn create_member(&self, pole_id: i64, member: &Member) -> Result<MemberRecord> {
        retrying!({
            let txn = self.write_txn().await?;
            self.lock_pole(&txn, pole_id).await?;
            let now = Utc::now();
            let mut am = members::ActiveModel {
                pole_id: Set(pole_id),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            };
            set_member_columns(&mut am, member);
            let model = am.insert(&txn).await?;
            self.member_changed(&txn, pole_id, model.id, Action::Create, 1, Some(member))
                .await?;
            txn.commit().await?;
            Ok::<_, EditError<StoreError>>(member_from_model(model)?)
        })
    }

    pub async fn update_member(
        &self,
        pole_id: i64,
        id: i64,
        member: &Member,
    ) -> Result<MemberRecord> {
        self.edit_member(pole_id, id, None, |_| Ok::<_, StoreError>(member.clone()))
            .await
    }

    /// Changes a member from the one stored, read and locked in the write's transaction (see
    /// [`Store::edit_pole`]).
    pub async fn edit_member<E: From<StoreError>>(
        &self,
        pole_id: i64,
        id: i64,
        expected: Option<i32>,
        mut edit: impl FnMut(&Member) -> std::result::Result<Member, E>,
    ) -> std::result::Result<MemberRecord, E> {
        retrying!({
            let txn = self.write_txn().await?;
            self.lock_pole(&txn, pole_id).await?;
            let model = self.member_model(&txn, pole_id, id, true).await?;
            check_version(|| format!("member {id}"), expected, model.version)?;
            let current = member_from_model(model.clone())?;
            let member = edit(&current.member).map_err(EditError::Edit)?;
            let version = model.version + 1;
            let mut am = model.into_active_model();
            set_member_columns(&mut am, &member);
            am.version = Set(version);
            am.updated_at = Set(Utc::now());
            let model = am.update(&txn).await?;
            self.member_changed(&txn, pole_id, id, Action::Update, version, Some(&member))
                .await?;
            txn.commit().await?;
            Ok(member_from_model(model)?)
        })
    }

    pub async fn delete_member(&self, pole_id: i64, id: i64) -> Result<()> {
        retrying!({
            let txn = self.write_txn().await?;
            self.lock_pole(&txn, pole_id).await?;
            let model = self.member_model(&txn, pole_id, id, true).await?;
            members::Entity::delete_by_id(model.id).exec(&txn).await?;
            self.member_changed(&txn, pole_id, id, Action::Delete, model.version + 1, None)
                .await?;
            txn.commit().await?;
            Ok::<_, EditError<StoreError>>(())
        })
    }

    /// Which of these member ids are not members of the pole.
    pub async fn unknown_members(&self, pole_id: i64, ids: &[i64]) -> Result<Vec<i64>> {
        unknown_members(&self.db, pole_id, ids).await
    }

    /// Which of these slugs are not local poles (deleted ones included).
    pub async fn unknown_poles(&self, slugs: &[String]) -> Result<Vec<String>> {
        unknown_poles(&self.db, slugs).await
    }
}

pub(super) async fn unknown_members(
    db: &impl ConnectionTrait,
    pole_id: i64,
    ids: &[i64],
) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let known: Vec<i64> = members::Entity::find()
        .select_only()
        .column(members::Column::Id)
        .filter(members::Column::PoleId.eq(pole_id))
        .filter(members::Column::Id.is_in(ids.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids
        .iter()
        .copied()
        .filter(|id| !known.contains(id))
        .collect())
}

pub(super) async fn unknown_poles(
    db: &impl ConnectionTrait,
    slugs: &[String],
) -> Result<Vec<String>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    let known: Vec<String> = poles::Entity::find()
        .select_only()
        .column(poles::Column::Slug)
        .filter(poles::Column::Local.eq(true))
        .filter(poles::Column::DeletedAt.is_null())
        .filter(poles::Column::Slug.is_in(slugs.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(slugs
        .iter()
        .filter(|s| !known.contains(s))
        .cloned()
        .collect())
}

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
                    super::search::unindex_pole(&txn, old.id).await?;
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
        super::search::index_pole(&txn, model.id, true).await?;
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
        super::objects::delete_objects_of_pole(&txn, id).await?;
        super::search::unindex_pole(&txn, id).await?;
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
