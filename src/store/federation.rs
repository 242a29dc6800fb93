//! What federation keeps between requests: remote actors, followers and followings,
//! activities already applied, replies, likes and boosts, and the changes still to publish.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde::Serialize;

use super::entities::{
    calls, changes, events, followers, following, inbox_seen, poles, projects, reactions,
    remote_actors, replies,
};
use super::objects::Kind;
use super::{Page, PageRequest, Result, Store, StoreError};

/// An actor of another server, as last fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RemoteActor {
    pub id: i64,
    pub ap_id: String,
    pub kind: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub domain: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub key_id: Option<String>,
    #[serde(skip)]
    pub public_key_pem: Option<String>,
    pub url: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub deleted: bool,
}

impl RemoteActor {
    /// Where to deliver to this actor: its server's shared inbox when it has one.
    pub fn delivery_inbox(&self) -> &str {
        self.shared_inbox.as_deref().unwrap_or(&self.inbox)
    }

    /// `user@domain`, or the actor id when it has no user name.
    pub fn handle(&self) -> String {
        match &self.username {
            Some(u) => format!("{u}@{}", self.domain),
            None => self.ap_id.clone(),
        }
    }
}

/// A remote actor as read from its document, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRemoteActor {
    pub ap_id: String,
    pub kind: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub domain: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub key_id: Option<String>,
    pub public_key_pem: Option<String>,
    pub url: Option<String>,
}

/// The replies to an object not deleted: only visible ones unless `all`.
fn replies_of(kind: Kind, object_id: i64, all: bool) -> sea_orm::Select<replies::Entity> {
    let query = replies::Entity::find()
        .filter(replies::Column::ObjectKind.eq(kind.id()))
        .filter(replies::Column::ObjectId.eq(object_id))
        .filter(replies::Column::DeletedAt.is_null());
    if all {
        query
    } else {
        query.filter(replies::Column::State.eq("visible"))
    }
}

fn reply_record(m: replies::Model, author: RemoteActor) -> ReplyRecord {
    ReplyRecord {
        id: m.id,
        ap_id: m.ap_id,
        pole_id: m.pole_id,
        object_kind: m.object_kind,
        object_id: m.object_id,
        content_html: m.content_html,
        url: m.url,
        state: m.state,
        author,
        published_at: m.published_at,
        updated_at: m.updated_at,
    }
}

fn remote_actor(m: remote_actors::Model) -> RemoteActor {
    RemoteActor {
        id: m.id,
        ap_id: m.ap_id,
        kind: m.kind,
        username: m.username,
        name: m.name,
        domain: m.domain,
        inbox: m.inbox,
        shared_inbox: m.shared_inbox,
        key_id: m.key_id,
        public_key_pem: m.public_key_pem,
        url: m.url,
        fetched_at: m.fetched_at,
        deleted: m.deleted_at.is_some(),
    }
}

/// Someone following one of our actors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FollowerRecord {
    pub id: i64,
    pub local_actor: String,
    #[serde(skip)]
    pub pole_id: Option<i64>,
    pub follow_activity_id: String,
    /// `pending` (awaiting the pole's approval) or `accepted`.
    pub state: String,
    pub actor: RemoteActor,
    pub created_at: DateTime<Utc>,
}

/// A remote actor one of our actors follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FollowingRecord {
    pub id: i64,
    pub local_actor: String,
    pub follow_activity_id: String,
    /// `pending`, `accepted` or `rejected`.
    pub state: String,
    /// A subscription to a relay, made the way Mastodon makes it: the `Follow` names the
    /// public collection, and the relay receives the instance's public activities.
    pub relay: bool,
    pub actor: RemoteActor,
    pub created_at: DateTime<Utc>,
}

/// A reply from another server to one of our objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReplyRecord {
    pub id: i64,
    pub ap_id: String,
    #[serde(skip)]
    pub pole_id: i64,
    pub object_kind: String,
    #[serde(skip)]
    pub object_id: i64,
    /// Sanitised HTML.
    pub content_html: String,
    pub url: Option<String>,
    /// `visible`, `pending` or `rejected`.
    pub state: String,
    pub author: RemoteActor,
    pub published_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One of our objects, found by its ActivityPub id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalObject {
    pub kind: Kind,
    pub id: i64,
    pub pole_id: i64,
    pub deleted: bool,
}

/// A change of a local pole waiting to be published to its followers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChange {
    pub id: i64,
    pub pole_id: i64,
    pub kind: String,
    pub ap_id: Option<String>,
    pub action: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

/// A new reply, before it is stored.
pub struct NewReply<'a> {
    pub ap_id: &'a str,
    pub object: LocalObject,
    pub author_id: i64,
    pub content_html: &'a str,
    pub url: Option<&'a str>,
    pub published_at: DateTime<Utc>,
    pub needs_approval: bool,
}

impl Store {
    /// Stores or refreshes a remote actor, keyed by its id.
    pub async fn upsert_remote_actor(&self, actor: &NewRemoteActor) -> Result<RemoteActor> {
        let now = Utc::now();
        let am = remote_actors::ActiveModel {
            ap_id: Set(actor.ap_id.clone()),
            kind: Set(actor.kind.clone()),
            username: Set(actor.username.clone()),
            name: Set(actor.name.clone()),
            domain: Set(actor.domain.to_ascii_lowercase()),
            inbox: Set(actor.inbox.clone()),
            shared_inbox: Set(actor.shared_inbox.clone()),
            key_id: Set(actor.key_id.clone()),
            public_key_pem: Set(actor.public_key_pem.clone()),
            url: Set(actor.url.clone()),
            fetched_at: Set(now),
            deleted_at: Set(None),
            ..Default::default()
        };
        remote_actors::Entity::insert(am)
            .on_conflict(
                OnConflict::column(remote_actors::Column::ApId)
                    .update_columns([
                        remote_actors::Column::Kind,
                        remote_actors::Column::Username,
                        remote_actors::Column::Name,
                        remote_actors::Column::Domain,
                        remote_actors::Column::Inbox,
                        remote_actors::Column::SharedInbox,
                        remote_actors::Column::KeyId,
                        remote_actors::Column::PublicKeyPem,
                        remote_actors::Column::Url,
                        remote_actors::Column::FetchedAt,
                        remote_actors::Column::DeletedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        self.remote_actor(&actor.ap_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("actor `{}` not stored", actor.ap_id)))
    }

    pub async fn remote_actor(&self, ap_id: &str) -> Result<Option<RemoteActor>> {
        Ok(remote_actors::Entity::find()
            .filter(remote_actors::Column::ApId.eq(ap_id))
            .one(&self.db)
            .await?
            .map(remote_actor))
    }

    pub async fn remote_actor_by_id(&self, id: i64) -> Result<RemoteActor> {
        remote_actors::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(remote_actor)
            .ok_or_else(|| StoreError::NotFound(format!("remote actor {id}")))
    }

    /// The actor owning a signing key, if it is known.
    pub async fn remote_actor_by_key(&self, key_id: &str) -> Result<Option<RemoteActor>> {
        Ok(remote_actors::Entity::find()
            .filter(remote_actors::Column::KeyId.eq(key_id))
            .one(&self.db)
            .await?
            .map(remote_actor))
    }

    /// Forgets what a deleted remote actor did here: its follows, replies, likes and boosts.
    pub async fn delete_remote_actor(&self, ap_id: &str) -> Result<bool> {
        let Some(model) = remote_actors::Entity::find()
            .filter(remote_actors::Column::ApId.eq(ap_id))
            .one(&self.db)
            .await?
        else {
            return Ok(false);
        };
        let id = model.id;
        followers::Entity::delete_many()
            .filter(followers::Column::RemoteActorId.eq(id))
            .exec(&self.db)
            .await?;
        following::Entity::delete_many()
            .filter(following::Column::RemoteActorId.eq(id))
            .exec(&self.db)
            .await?;
        reactions::Entity::delete_many()
            .filter(reactions::Column::RemoteActorId.eq(id))
            .exec(&self.db)
            .await?;
        replies::Entity::update_many()
            .col_expr(
                replies::Column::DeletedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(replies::Column::RemoteActorId.eq(id))
            .filter(replies::Column::DeletedAt.is_null())
            .exec(&self.db)
            .await?;
        let mut am = model.into_active_model();
        am.deleted_at = Set(Some(Utc::now()));
        am.public_key_pem = Set(None);
        am.update(&self.db).await?;
        self.delete_remote_pole(ap_id).await?;
        Ok(true)
    }

    // --- followers -------------------------------------------------------------------------

    /// Records a follow of `local_actor`; a repeated follow replaces the earlier one.
    pub async fn add_follower(
        &self,
        local_actor: &str,
        pole_id: Option<i64>,
        remote_actor_id: i64,
        follow_activity_id: &str,
        state: &str,
    ) -> Result<FollowerRecord> {
        let now = Utc::now();
        let am = followers::ActiveModel {
            local_actor: Set(local_actor.to_owned()),
            pole_id: Set(pole_id),
            remote_actor_id: Set(remote_actor_id),
            follow_activity_id: Set(follow_activity_id.to_owned()),
            state: Set(state.to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        followers::Entity::insert(am)
            .on_conflict(
                OnConflict::columns([
                    followers::Column::LocalActor,
                    followers::Column::RemoteActorId,
                ])
                .update_columns([
                    followers::Column::FollowActivityId,
                    followers::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        let model = followers::Entity::find()
            .filter(followers::Column::LocalActor.eq(local_actor))
            .filter(followers::Column::RemoteActorId.eq(remote_actor_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::Corrupt("follower not stored".into()))?;
        self.follower_record(model).await
    }

    async fn follower_record(&self, m: followers::Model) -> Result<FollowerRecord> {
        let actor = self.remote_actor_by_id(m.remote_actor_id).await?;
        Ok(FollowerRecord {
            id: m.id,
            local_actor: m.local_actor,
            pole_id: m.pole_id,
            follow_activity_id: m.follow_activity_id,
            state: m.state,
            actor,
            created_at: m.created_at,
        })
    }

    /// Ends a follow; with `follow_activity_id`, only if it is that follow. `true` if one ended.
    pub async fn remove_follower(
        &self,
        local_actor: &str,
        remote_actor_id: i64,
        follow_activity_id: Option<&str>,
    ) -> Result<bool> {
        let mut query = followers::Entity::delete_many()
            .filter(followers::Column::LocalActor.eq(local_actor))
            .filter(followers::Column::RemoteActorId.eq(remote_actor_id));
        if let Some(id) = follow_activity_id {
            query = query.filter(followers::Column::FollowActivityId.eq(id));
        }
        Ok(query.exec(&self.db).await?.rows_affected > 0)
    }

    pub async fn follower(&self, id: i64) -> Result<FollowerRecord> {
        let model = followers::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("follower {id}")))?;
        self.follower_record(model).await
    }

    pub async fn set_follower_state(&self, id: i64, state: &str) -> Result<FollowerRecord> {
        let model = followers::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("follower {id}")))?;
        let mut am = model.into_active_model();
        am.state = Set(state.to_owned());
        am.updated_at = Set(Utc::now());
        let model = am.update(&self.db).await?;
        self.follower_record(model).await
    }

    pub async fn delete_follower(&self, id: i64) -> Result<()> {
        followers::Entity::delete_by_id(id).exec(&self.db).await?;
        Ok(())
    }

    /// Followers of a local actor, newest first, pending ones too.
    pub async fn list_followers(
        &self,
        local_actor: &str,
        page: PageRequest,
    ) -> Result<Page<FollowerRecord>> {
        let paginator = followers::Entity::find()
            .filter(followers::Column::LocalActor.eq(local_actor))
            .order_by_desc(followers::Column::Id)
            .paginate(&self.db, page.per_page);
        let total = paginator.num_items().await?;
        let mut items = Vec::new();
        for m in paginator.fetch_page(page.page.saturating_sub(1)).await? {
            items.push(self.follower_record(m).await?);
        }
        Ok(Page {
            items,
            page: page.page,
            per_page: page.per_page,
            total,
        })
    }

    pub async fn count_followers(&self, local_actor: &str) -> Result<u64> {
        Ok(followers::Entity::find()
            .filter(followers::Column::LocalActor.eq(local_actor))
            .filter(followers::Column::State.eq("accepted"))
            .count(&self.db)
            .await?)
    }

    /// The inboxes that receive what `local_actor` publishes: one per accepted follower's
    /// server when it has a shared inbox, otherwise the follower's own.
    pub async fn follower_inboxes(&self, local_actor: &str) -> Result<Vec<String>> {
        self.inboxes(
            "SELECT DISTINCT COALESCE(a.shared_inbox, a.inbox) AS inbox FROM followers f \
             JOIN remote_actors a ON a.id = f.remote_actor_id \
             WHERE f.local_actor = $1 AND f.state = 'accepted' AND a.deleted_at IS NULL \
             ORDER BY inbox",
            local_actor,
        )
        .await
    }

    /// The inboxes of the relays `local_actor` has subscribed to and that accepted: they
    /// receive its public activities, as Mastodon sends its public posts to its relays.
    pub async fn relay_inboxes(&self, local_actor: &str) -> Result<Vec<String>> {
        self.inboxes(
            "SELECT DISTINCT a.inbox AS inbox FROM following f \
             JOIN remote_actors a ON a.id = f.remote_actor_id \
             WHERE f.local_actor = $1 AND f.relay AND f.state = 'accepted' \
             AND a.deleted_at IS NULL ORDER BY inbox",
            local_actor,
        )
        .await
    }

    /// Runs a query of one column `inbox` with `$1` bound to `local_actor` (written `?1`
    /// for SQLite).
    async fn inboxes(&self, sql: &str, local_actor: &str) -> Result<Vec<String>> {
        let sql = match self.backend {
            crate::config::Backend::Postgres => sql.to_owned(),
            crate::config::Backend::Sqlite => sql.replace("$1", "?1"),
        };
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                sql,
                [local_actor.into()],
            ))
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String>("", "inbox").map_err(StoreError::from))
            .collect()
    }

    // --- following -------------------------------------------------------------------------

    /// Records that `local_actor` asked to follow a remote actor; asking again replaces the
    /// earlier request.
    pub async fn add_following(
        &self,
        local_actor: &str,
        remote_actor_id: i64,
        follow_activity_id: &str,
        relay: bool,
    ) -> Result<FollowingRecord> {
        let now = Utc::now();
        following::Entity::delete_many()
            .filter(following::Column::LocalActor.eq(local_actor))
            .filter(following::Column::RemoteActorId.eq(remote_actor_id))
            .exec(&self.db)
            .await?;
        let model = following::ActiveModel {
            local_actor: Set(local_actor.to_owned()),
            remote_actor_id: Set(remote_actor_id),
            follow_activity_id: Set(follow_activity_id.to_owned()),
            state: Set("pending".into()),
            relay: Set(relay),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        self.following_record(model).await
    }

    async fn following_record(&self, m: following::Model) -> Result<FollowingRecord> {
        let actor = self.remote_actor_by_id(m.remote_actor_id).await?;
        Ok(FollowingRecord {
            id: m.id,
            local_actor: m.local_actor,
            follow_activity_id: m.follow_activity_id,
            state: m.state,
            relay: m.relay,
            actor,
            created_at: m.created_at,
        })
    }

    /// Settles a follow request after the remote actor's `Accept` or `Reject`: found by the
    /// follow's id, or else by who follows whom. `None` if there was no such request.
    pub async fn settle_following(
        &self,
        follow_activity_id: Option<&str>,
        local_actor: Option<&str>,
        remote_actor_id: i64,
        state: &str,
    ) -> Result<Option<FollowingRecord>> {
        let mut query =
            following::Entity::find().filter(following::Column::RemoteActorId.eq(remote_actor_id));
        if let Some(id) = follow_activity_id {
            query = query.filter(following::Column::FollowActivityId.eq(id));
        } else if let Some(local) = local_actor {
            query = query.filter(following::Column::LocalActor.eq(local));
        } else {
            return Ok(None);
        }
        let Some(model) = query.one(&self.db).await? else {
            return Ok(None);
        };
        let mut am = model.into_active_model();
        am.state = Set(state.to_owned());
        am.updated_at = Set(Utc::now());
        let model = am.update(&self.db).await?;
        Ok(Some(self.following_record(model).await?))
    }

    pub async fn following(&self, id: i64) -> Result<FollowingRecord> {
        let model = following::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("follow {id}")))?;
        self.following_record(model).await
    }

    pub async fn delete_following(&self, id: i64) -> Result<()> {
        following::Entity::delete_by_id(id).exec(&self.db).await?;
        Ok(())
    }

    pub async fn list_following(&self, local_actor: &str) -> Result<Vec<FollowingRecord>> {
        let models = following::Entity::find()
            .filter(following::Column::LocalActor.eq(local_actor))
            .order_by_asc(following::Column::Id)
            .all(&self.db)
            .await?;
        let mut items = Vec::with_capacity(models.len());
        for m in models {
            items.push(self.following_record(m).await?);
        }
        Ok(items)
    }

    /// Whether any of our actors follows this remote actor (accepted or not yet answered).
    pub async fn is_followed_here(&self, remote_actor_id: i64) -> Result<bool> {
        Ok(following::Entity::find()
            .filter(following::Column::RemoteActorId.eq(remote_actor_id))
            .filter(following::Column::State.is_in(["pending", "accepted"]))
            .count(&self.db)
            .await?
            > 0)
    }

    // --- activities already applied --------------------------------------------------------

    /// Claims an activity id before the activity is applied; `false` if it was already there.
    pub async fn mark_seen(&self, activity_id: &str, actor: &str) -> Result<bool> {
        let inserted = inbox_seen::Entity::insert(inbox_seen::ActiveModel {
            activity_id: Set(activity_id.to_owned()),
            actor: Set(actor.to_owned()),
            received_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(inbox_seen::Column::ActivityId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(inserted > 0)
    }

    /// Forgets one activity id, when applying the activity failed.
    pub async fn unmark_seen(&self, activity_id: &str) -> Result<()> {
        inbox_seen::Entity::delete_by_id(activity_id.to_owned())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Forgets activity ids older than `before`: senders do not retry for that long.
    pub async fn prune_seen(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(inbox_seen::Entity::delete_many()
            .filter(inbox_seen::Column::ReceivedAt.lt(before))
            .exec(&self.db)
            .await?
            .rows_affected)
    }

    // --- our objects -----------------------------------------------------------------------

    /// One of our own objects by its ActivityPub id, which names its kind in its path
    /// (`{base}/projects/{id}`), so that only that kind's table is read.
    pub async fn local_object(&self, ap_id: &str) -> Result<Option<LocalObject>> {
        macro_rules! find {
            ($entity:ident, $kind:expr) => {
                $entity::Entity::find()
                    .filter($entity::Column::ApId.eq(ap_id))
                    .filter($entity::Column::Local.eq(true))
                    .one(&self.db)
                    .await?
                    .map(|m| LocalObject {
                        kind: $kind,
                        id: m.id,
                        pole_id: m.pole_id,
                        deleted: m.deleted_at.is_some(),
                    })
            };
        }
        let base = self.url("/");
        let Some(path) = ap_id.strip_prefix(&base) else {
            return Ok(None);
        };
        let kind = Kind::ALL.iter().copied().find(|k| {
            path.strip_prefix(k.path())
                .is_some_and(|rest| rest.starts_with('/'))
        });
        Ok(match kind {
            Some(Kind::Project) => find!(projects, Kind::Project),
            Some(Kind::Event) => find!(events, Kind::Event),
            Some(Kind::Call) => find!(calls, Kind::Call),
            None => None,
        })
    }

    // --- replies ---------------------------------------------------------------------------

    /// Stores a reply; the same reply received again changes nothing.
    pub async fn add_reply(&self, reply: &NewReply<'_>) -> Result<()> {
        let now = Utc::now();
        replies::Entity::insert(replies::ActiveModel {
            ap_id: Set(reply.ap_id.to_owned()),
            pole_id: Set(reply.object.pole_id),
            object_kind: Set(reply.object.kind.id().to_owned()),
            object_id: Set(reply.object.id),
            remote_actor_id: Set(reply.author_id),
            content_html: Set(reply.content_html.to_owned()),
            url: Set(reply.url.map(str::to_owned)),
            state: Set(if reply.needs_approval {
                "pending".into()
            } else {
                "visible".into()
            }),
            published_at: Set(reply.published_at),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::column(replies::Column::ApId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    /// Replaces the content of a reply by its author; `false` if there is none.
    pub async fn edit_reply(
        &self,
        ap_id: &str,
        author_id: i64,
        content_html: &str,
    ) -> Result<bool> {
        let result = replies::Entity::update_many()
            .col_expr(
                replies::Column::ContentHtml,
                sea_orm::sea_query::Expr::value(content_html),
            )
            .col_expr(
                replies::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(replies::Column::ApId.eq(ap_id))
            .filter(replies::Column::RemoteActorId.eq(author_id))
            .filter(replies::Column::DeletedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Deletes a reply by its author; `false` if there is none.
    pub async fn delete_reply(&self, ap_id: &str, author_id: i64) -> Result<bool> {
        let result = replies::Entity::update_many()
            .col_expr(
                replies::Column::DeletedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(replies::Column::ApId.eq(ap_id))
            .filter(replies::Column::RemoteActorId.eq(author_id))
            .filter(replies::Column::DeletedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// The replies to an object, oldest first: only visible ones unless `all`.
    pub async fn list_replies(
        &self,
        kind: Kind,
        object_id: i64,
        all: bool,
    ) -> Result<Vec<ReplyRecord>> {
        let models = replies_of(kind, object_id, all)
            .order_by_asc(replies::Column::PublishedAt)
            .order_by_asc(replies::Column::Id)
            .all(&self.db)
            .await?;
        self.reply_records(models).await
    }

    /// The `limit` latest visible replies to an object, oldest first, and how many there
    /// are in all: what a page shows, however many came.
    pub async fn latest_replies(
        &self,
        kind: Kind,
        object_id: i64,
        limit: u64,
    ) -> Result<(Vec<ReplyRecord>, u64)> {
        let total = replies_of(kind, object_id, false).count(&self.db).await?;
        let mut models = replies_of(kind, object_id, false)
            .order_by_desc(replies::Column::PublishedAt)
            .order_by_desc(replies::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        models.reverse();
        Ok((self.reply_records(models).await?, total))
    }

    /// Replies with their authors, read in one query.
    async fn reply_records(&self, models: Vec<replies::Model>) -> Result<Vec<ReplyRecord>> {
        let mut ids: Vec<i64> = models.iter().map(|m| m.remote_actor_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let authors: std::collections::HashMap<i64, RemoteActor> = remote_actors::Entity::find()
            .filter(remote_actors::Column::Id.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.id, remote_actor(m)))
            .collect();
        models
            .into_iter()
            .map(|m| {
                let author = authors.get(&m.remote_actor_id).cloned().ok_or_else(|| {
                    StoreError::NotFound(format!("remote actor {}", m.remote_actor_id))
                })?;
                Ok(reply_record(m, author))
            })
            .collect()
    }

    async fn reply_record(&self, m: replies::Model) -> Result<ReplyRecord> {
        let author = self.remote_actor_by_id(m.remote_actor_id).await?;
        Ok(reply_record(m, author))
    }

    pub async fn reply(&self, id: i64) -> Result<ReplyRecord> {
        let model = replies::Entity::find_by_id(id)
            .filter(replies::Column::DeletedAt.is_null())
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("reply {id}")))?;
        self.reply_record(model).await
    }

    pub async fn set_reply_state(&self, id: i64, state: &str) -> Result<ReplyRecord> {
        let model = replies::Entity::find_by_id(id)
            .filter(replies::Column::DeletedAt.is_null())
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("reply {id}")))?;
        let mut am = model.into_active_model();
        am.state = Set(state.to_owned());
        am.updated_at = Set(Utc::now());
        let model = am.update(&self.db).await?;
        self.reply_record(model).await
    }

    // --- likes and boosts ------------------------------------------------------------------

    /// Counts a like or boost once per actor and object.
    pub async fn add_reaction(
        &self,
        activity_id: &str,
        kind: &str,
        object: LocalObject,
        remote_actor_id: i64,
    ) -> Result<bool> {
        let sql = match self.backend {
            crate::config::Backend::Postgres => {
                "INSERT INTO reactions (activity_id, kind, object_kind, object_id, remote_actor_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"
            }
            crate::config::Backend::Sqlite => {
                "INSERT INTO reactions (activity_id, kind, object_kind, object_id, remote_actor_id, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING"
            }
        };
        let inserted = self
            .db
            .execute_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                sql,
                [
                    activity_id.into(),
                    kind.into(),
                    object.kind.id().into(),
                    object.id.into(),
                    remote_actor_id.into(),
                    Utc::now().into(),
                ],
            ))
            .await?
            .rows_affected();
        Ok(inserted > 0)
    }

    /// Withdraws a like or boost (`Undo`): by its activity id, or by actor, kind and object.
    pub async fn remove_reaction(
        &self,
        activity_id: &str,
        remote_actor_id: i64,
        kind_and_object: Option<(&str, LocalObject)>,
    ) -> Result<bool> {
        let by_id = reactions::Entity::delete_many()
            .filter(reactions::Column::ActivityId.eq(activity_id))
            .filter(reactions::Column::RemoteActorId.eq(remote_actor_id))
            .exec(&self.db)
            .await?
            .rows_affected;
        if by_id > 0 {
            return Ok(true);
        }
        let Some((kind, object)) = kind_and_object else {
            return Ok(false);
        };
        Ok(reactions::Entity::delete_many()
            .filter(reactions::Column::Kind.eq(kind))
            .filter(reactions::Column::ObjectKind.eq(object.kind.id()))
            .filter(reactions::Column::ObjectId.eq(object.id))
            .filter(reactions::Column::RemoteActorId.eq(remote_actor_id))
            .exec(&self.db)
            .await?
            .rows_affected
            > 0)
    }

    /// How many likes and boosts an object has.
    pub async fn reaction_counts(&self, kind: Kind, object_id: i64) -> Result<(u64, u64)> {
        let rows: Vec<(String, i64)> = reactions::Entity::find()
            .select_only()
            .column(reactions::Column::Kind)
            .column_as(reactions::Column::Id.count(), "n")
            .filter(reactions::Column::ObjectKind.eq(kind.id()))
            .filter(reactions::Column::ObjectId.eq(object_id))
            .group_by(reactions::Column::Kind)
            .into_tuple()
            .all(&self.db)
            .await?;
        let count = |k: &str| {
            rows.iter()
                .find(|(kind, _)| kind == k)
                .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
        };
        Ok((count("like"), count("announce")))
    }

    // --- publishing ------------------------------------------------------------------------

    /// Changes of local poles not yet handed to the delivery queue, oldest first.
    pub async fn unfederated_changes(&self, limit: u64) -> Result<Vec<PendingChange>> {
        let local_poles = poles::Entity::find()
            .select_only()
            .column(poles::Column::Id)
            .filter(poles::Column::Local.eq(true));
        let models = changes::Entity::find()
            .filter(changes::Column::FederatedAt.is_null())
            .filter(
                changes::Column::PoleId.in_subquery(sea_orm::QueryTrait::into_query(local_poles)),
            )
            .order_by_asc(changes::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(models
            .into_iter()
            .map(|m| PendingChange {
                id: m.id,
                pole_id: m.pole_id,
                kind: m.object_kind,
                ap_id: m.object_ap_id,
                action: m.action,
                version: m.version,
                created_at: m.created_at,
            })
            .collect())
    }

    pub async fn mark_federated(&self, change_id: i64) -> Result<()> {
        changes::Entity::update_many()
            .col_expr(
                changes::Column::FederatedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(changes::Column::Id.eq(change_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

impl Store {
    /// Whether `local_actor` follows the remote actor and was accepted.
    pub async fn follows_accepted(&self, local_actor: &str, remote_actor_id: i64) -> Result<bool> {
        Ok(following::Entity::find()
            .filter(following::Column::LocalActor.eq(local_actor))
            .filter(following::Column::RemoteActorId.eq(remote_actor_id))
            .filter(following::Column::State.eq("accepted"))
            .count(&self.db)
            .await?
            > 0)
    }
}

impl Store {
    /// The domains of the instances whose actors this instance follows or is followed by,
    /// accepted both ways: its peers in the inter-network.
    pub async fn peers(&self, instance_actor: &str) -> Result<Vec<String>> {
        let sql = match self.backend {
            crate::config::Backend::Postgres => {
                "SELECT DISTINCT a.domain FROM remote_actors a WHERE a.deleted_at IS NULL AND (\
                 a.id IN (SELECT remote_actor_id FROM following WHERE local_actor = $1 AND state = 'accepted') \
                 OR a.id IN (SELECT remote_actor_id FROM followers WHERE local_actor = $1 AND state = 'accepted')) \
                 ORDER BY a.domain"
            }
            crate::config::Backend::Sqlite => {
                "SELECT DISTINCT a.domain FROM remote_actors a WHERE a.deleted_at IS NULL AND (\
                 a.id IN (SELECT remote_actor_id FROM following WHERE local_actor = ?1 AND state = 'accepted') \
                 OR a.id IN (SELECT remote_actor_id FROM followers WHERE local_actor = ?1 AND state = 'accepted')) \
                 ORDER BY a.domain"
            }
        };
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                sql,
                [instance_actor.into()],
            ))
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String>("", "domain").map_err(StoreError::from))
            .collect()
    }
}
