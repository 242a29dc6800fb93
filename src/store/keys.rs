//! Signing keys of the actors, generated on first use and then kept.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::entities::{instance, poles};
use super::{Result, Store, StoreError};

/// A PEM key pair; the private half never leaves the instance.
#[derive(Clone)]
pub struct ActorKeys {
    pub public_key: String,
    pub private_key: String,
}

impl std::fmt::Debug for ActorKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorKeys")
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

/// RSA-2048 generation takes a noticeable time: keep it off the async workers.
async fn generate() -> Result<ActorKeys> {
    let keypair = tokio::task::spawn_blocking(
        activitypub_federation::http_signatures::generate_actor_keypair,
    )
    .await
    .map_err(|e| StoreError::Conflict(format!("key generation stopped: {e}")))?
    .map_err(|e| StoreError::Conflict(format!("cannot generate a key pair: {e}")))?;
    Ok(ActorKeys {
        public_key: keypair.public_key,
        private_key: keypair.private_key,
    })
}

fn pair(public: Option<String>, private: Option<String>) -> Option<ActorKeys> {
    Some(ActorKeys {
        public_key: public?,
        private_key: private?,
    })
}

impl Store {
    /// The keys of a pole, generated the first time they are asked for.
    pub async fn pole_keys(&self, pole_id: i64) -> Result<ActorKeys> {
        let find = || async {
            let model = poles::Entity::find_by_id(pole_id)
                .one(&self.db)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("pole {pole_id}")))?;
            Ok::<_, StoreError>(pair(model.public_key, model.private_key))
        };
        if let Some(keys) = find().await? {
            return Ok(keys);
        }
        let keys = generate().await?;
        // Two requests may race to create the keys: only the first write counts.
        self.write_pole_keys(pole_id, &keys, true).await?;
        find()
            .await?
            .ok_or_else(|| StoreError::Corrupt("pole keys missing after being written".into()))
    }

    /// Gives a pole the keys it had elsewhere (an imported pole keeps its key pair).
    pub async fn set_pole_keys(&self, pole_id: i64, keys: &ActorKeys) -> Result<()> {
        if self.write_pole_keys(pole_id, keys, false).await? == 0 {
            return Err(StoreError::NotFound(format!("pole {pole_id}")));
        }
        Ok(())
    }

    /// Writes a pole's key pair (only where it has none, with `only_if_missing`); the rows
    /// written.
    async fn write_pole_keys(
        &self,
        pole_id: i64,
        keys: &ActorKeys,
        only_if_missing: bool,
    ) -> Result<u64> {
        let mut update = poles::Entity::update_many()
            .col_expr(
                poles::Column::PublicKey,
                Expr::value(keys.public_key.clone()),
            )
            .col_expr(
                poles::Column::PrivateKey,
                Expr::value(keys.private_key.clone()),
            )
            .filter(poles::Column::Id.eq(pole_id));
        if only_if_missing {
            update = update.filter(poles::Column::PublicKey.is_null());
        }
        Ok(update.exec(&self.db).await?.rows_affected)
    }

    /// The keys of the instance actor, generated the first time they are asked for.
    pub async fn instance_keys(&self) -> Result<ActorKeys> {
        self.ensure_instance("Maillage").await?;
        let find = || async {
            let model = instance::Entity::find_by_id(1)
                .one(&self.db)
                .await?
                .ok_or_else(|| StoreError::Corrupt("instance settings missing".into()))?;
            Ok::<_, StoreError>(pair(model.public_key, model.private_key))
        };
        if let Some(keys) = find().await? {
            return Ok(keys);
        }
        let keys = generate().await?;
        instance::Entity::update_many()
            .col_expr(
                instance::Column::PublicKey,
                Expr::value(keys.public_key.clone()),
            )
            .col_expr(
                instance::Column::PrivateKey,
                Expr::value(keys.private_key.clone()),
            )
            .filter(instance::Column::Id.eq(1))
            .filter(instance::Column::PublicKey.is_null())
            .exec(&self.db)
            .await?;
        find()
            .await?
            .ok_or_else(|| StoreError::Corrupt("instance keys missing after being written".into()))
    }

    /// Number of live projects, events and calls of the local poles.
    pub async fn count_local_objects(&self) -> Result<u64> {
        use super::entities::{calls, events, projects};
        use sea_orm::PaginatorTrait;
        let projects = projects::Entity::find()
            .filter(projects::Column::Local.eq(true))
            .filter(projects::Column::DeletedAt.is_null())
            .count(&self.db)
            .await?;
        let events = events::Entity::find()
            .filter(events::Column::Local.eq(true))
            .filter(events::Column::DeletedAt.is_null())
            .count(&self.db)
            .await?;
        let calls = calls::Entity::find()
            .filter(calls::Column::Local.eq(true))
            .filter(calls::Column::DeletedAt.is_null())
            .count(&self.db)
            .await?;
        Ok(projects + events + calls)
    }
}
