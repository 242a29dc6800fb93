//! The members of a pole: listed, read, created, edited and deleted.
//!
//! Invariant: every change to a member writes its row in `changes` and its pole's
//! directory entry again (which lists the members' names and legal forms), in the
//! member's own transaction.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{MemberRecord, PoleRecord};
use crate::domain::vocab::{EmployeeBand, LegalForm};
use crate::domain::{Member, Pole};
use crate::store::changes::{self, Action, Change};
use crate::store::convert::{opt_vocab, to_json, vocab};
use crate::store::entities::members;
use crate::store::write::{EditError, check_version};
use crate::store::{Page, PageRequest, Result, Store, StoreError, references, search};

pub(super) fn member_from_model(m: members::Model) -> Result<MemberRecord> {
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

pub(super) fn set_member_columns(am: &mut members::ActiveModel, member: &Member) {
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
        search::index_pole(txn, pole_id, false).await
    }

    pub async fn create_member(&self, pole_id: i64, member: &Member) -> Result<MemberRecord> {
        retrying!({
            let txn = self.write_txn().await?;
            let model = self.add_member(&txn, pole_id, member).await?;
            txn.commit().await?;
            Ok::<_, EditError<StoreError>>(member_from_model(model)?)
        })
    }

    /// Writes a new member of a pole, its change and the pole's directory row in `txn`.
    async fn add_member(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        pole_id: i64,
        member: &Member,
    ) -> Result<members::Model> {
        self.lock_pole(txn, pole_id).await?;
        let now = Utc::now();
        let mut am = members::ActiveModel {
            pole_id: Set(pole_id),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        set_member_columns(&mut am, member);
        let model = am.insert(txn).await?;
        self.member_changed(txn, pole_id, model.id, Action::Create, 1, Some(member))
            .await?;
        Ok(model)
    }

    /// Creates local poles and members of poles (these or existing local ones, by slug) all
    /// in one transaction: either all of them are written, or none.
    pub async fn import_poles_and_members(
        &self,
        poles: &[Pole],
        members: &[(String, Member)],
    ) -> Result<Vec<PoleRecord>> {
        retrying!(store: {
            let txn = self.write_txn().await?;
            let mut ids: Vec<(String, i64)> = Vec::new();
            let mut records = Vec::new();
            for pole in poles {
                let model = self.add_pole(&txn, pole).await?;
                ids.push((pole.slug.clone(), model.id));
                records.push(self.pole_record(&txn, model).await?);
            }
            for (slug, member) in members {
                let id = match ids.iter().find(|(s, _)| s == slug) {
                    Some((_, id)) => *id,
                    None => {
                        let id = self.find_pole_model(&txn, slug, false).await?.id;
                        ids.push((slug.clone(), id));
                        id
                    }
                };
                self.add_member(&txn, id, member).await?;
            }
            txn.commit().await?;
            Ok(records)
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
            // Saving it as it is changes nothing: no version, no history.
            if member == current.member {
                txn.commit().await?;
                return Ok(current);
            }
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
        references::unknown_members(&self.db, pole_id, ids).await
    }

    /// Which of these slugs are not local poles (deleted ones included).
    pub async fn unknown_poles(&self, slugs: &[String]) -> Result<Vec<String>> {
        references::unknown_poles(&self.db, slugs).await
    }
}
