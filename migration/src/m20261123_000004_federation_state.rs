//! What federation remembers: remote actors and their keys, who follows whom, activities
//! already received, replies to our objects, likes and boosts, and which changes have been
//! published to followers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema as col;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum RemoteActors {
    Table,
    Id,
    ApId,
    Kind,
    Username,
    Name,
    Domain,
    Inbox,
    SharedInbox,
    KeyId,
    PublicKeyPem,
    Url,
    FetchedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Followers {
    Table,
    Id,
    LocalActor,
    PoleId,
    RemoteActorId,
    FollowActivityId,
    State,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Following {
    Table,
    Id,
    LocalActor,
    RemoteActorId,
    FollowActivityId,
    State,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum InboxSeen {
    Table,
    ActivityId,
    Actor,
    ReceivedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Replies {
    Table,
    Id,
    ApId,
    PoleId,
    ObjectKind,
    ObjectId,
    RemoteActorId,
    ContentHtml,
    Url,
    State,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Reactions {
    Table,
    Id,
    ActivityId,
    Kind,
    ObjectKind,
    ObjectId,
    RemoteActorId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Poles {
    Table,
    Id,
    RepliesNeedApproval,
}

#[derive(DeriveIden, Clone, Copy)]
enum Changes {
    Table,
    FederatedAt,
    CreatedAt,
}

fn actor_fk<T: IntoIden + Copy + 'static>(
    name: &str,
    table: T,
    column: T,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(RemoteActors::Table, RemoteActors::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn pole_fk<T: IntoIden + Copy + 'static>(
    name: &str,
    table: T,
    column: T,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Poles::Table, Poles::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RemoteActors::Table)
                    .col(
                        col::big_integer(RemoteActors::Id)
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(col::text(RemoteActors::ApId).unique_key())
                    .col(col::text(RemoteActors::Kind))
                    .col(col::text_null(RemoteActors::Username))
                    .col(col::text_null(RemoteActors::Name))
                    .col(col::text(RemoteActors::Domain))
                    .col(col::text(RemoteActors::Inbox))
                    .col(col::text_null(RemoteActors::SharedInbox))
                    .col(col::text_null(RemoteActors::KeyId))
                    .col(col::text_null(RemoteActors::PublicKeyPem))
                    .col(col::text_null(RemoteActors::Url))
                    .col(col::timestamp_with_time_zone(RemoteActors::FetchedAt))
                    .col(col::timestamp_with_time_zone_null(RemoteActors::DeletedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_remote_actors_key_id")
                    .table(RemoteActors::Table)
                    .col(RemoteActors::KeyId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Followers::Table)
                    .col(
                        col::big_integer(Followers::Id)
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(col::text(Followers::LocalActor))
                    .col(col::big_integer_null(Followers::PoleId))
                    .col(col::big_integer(Followers::RemoteActorId))
                    .col(col::text(Followers::FollowActivityId))
                    .col(col::text(Followers::State))
                    .col(col::timestamp_with_time_zone(Followers::CreatedAt))
                    .col(col::timestamp_with_time_zone(Followers::UpdatedAt))
                    .foreign_key(&mut pole_fk(
                        "fk_followers_pole_id",
                        Followers::Table,
                        Followers::PoleId,
                    ))
                    .foreign_key(&mut actor_fk(
                        "fk_followers_remote_actor_id",
                        Followers::Table,
                        Followers::RemoteActorId,
                    ))
                    .index(
                        Index::create()
                            .name("uq_followers_local_remote")
                            .col(Followers::LocalActor)
                            .col(Followers::RemoteActorId)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Following::Table)
                    .col(
                        col::big_integer(Following::Id)
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(col::text(Following::LocalActor))
                    .col(col::big_integer(Following::RemoteActorId))
                    .col(col::text(Following::FollowActivityId).unique_key())
                    .col(col::text(Following::State))
                    .col(col::timestamp_with_time_zone(Following::CreatedAt))
                    .col(col::timestamp_with_time_zone(Following::UpdatedAt))
                    .foreign_key(&mut actor_fk(
                        "fk_following_remote_actor_id",
                        Following::Table,
                        Following::RemoteActorId,
                    ))
                    .index(
                        Index::create()
                            .name("uq_following_local_remote")
                            .col(Following::LocalActor)
                            .col(Following::RemoteActorId)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(InboxSeen::Table)
                    .col(col::text(InboxSeen::ActivityId).primary_key())
                    .col(col::text(InboxSeen::Actor))
                    .col(col::timestamp_with_time_zone(InboxSeen::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_inbox_seen_received_at")
                    .table(InboxSeen::Table)
                    .col(InboxSeen::ReceivedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Replies::Table)
                    .col(col::big_integer(Replies::Id).auto_increment().primary_key())
                    .col(col::text(Replies::ApId).unique_key())
                    .col(col::big_integer(Replies::PoleId))
                    .col(col::text(Replies::ObjectKind))
                    .col(col::big_integer(Replies::ObjectId))
                    .col(col::big_integer(Replies::RemoteActorId))
                    .col(col::text(Replies::ContentHtml))
                    .col(col::text_null(Replies::Url))
                    .col(col::text(Replies::State))
                    .col(col::timestamp_with_time_zone(Replies::PublishedAt))
                    .col(col::timestamp_with_time_zone(Replies::CreatedAt))
                    .col(col::timestamp_with_time_zone(Replies::UpdatedAt))
                    .col(col::timestamp_with_time_zone_null(Replies::DeletedAt))
                    .foreign_key(&mut pole_fk(
                        "fk_replies_pole_id",
                        Replies::Table,
                        Replies::PoleId,
                    ))
                    .foreign_key(&mut actor_fk(
                        "fk_replies_remote_actor_id",
                        Replies::Table,
                        Replies::RemoteActorId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_replies_object")
                    .table(Replies::Table)
                    .col(Replies::ObjectKind)
                    .col(Replies::ObjectId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Reactions::Table)
                    .col(
                        col::big_integer(Reactions::Id)
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(col::text(Reactions::ActivityId).unique_key())
                    .col(col::text(Reactions::Kind))
                    .col(col::text(Reactions::ObjectKind))
                    .col(col::big_integer(Reactions::ObjectId))
                    .col(col::big_integer(Reactions::RemoteActorId))
                    .col(col::timestamp_with_time_zone(Reactions::CreatedAt))
                    .foreign_key(&mut actor_fk(
                        "fk_reactions_remote_actor_id",
                        Reactions::Table,
                        Reactions::RemoteActorId,
                    ))
                    .index(
                        Index::create()
                            .name("uq_reactions_once_per_actor")
                            .col(Reactions::Kind)
                            .col(Reactions::ObjectKind)
                            .col(Reactions::ObjectId)
                            .col(Reactions::RemoteActorId)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(Poles::Table)
                    .add_column(
                        ColumnDef::new(Poles::RepliesNeedApproval)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Changes::Table)
                    .add_column(
                        ColumnDef::new(Changes::FederatedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Nobody could follow a pole before this migration: the history so far is settled.
        manager
            .exec_stmt(
                Query::update()
                    .table(Changes::Table)
                    .value(Changes::FederatedAt, Expr::col(Changes::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_changes_federated_at")
                    .table(Changes::Table)
                    .col(Changes::FederatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_changes_federated_at")
                    .table(Changes::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Changes::Table)
                    .drop_column(Changes::FederatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Poles::Table)
                    .drop_column(Poles::RepliesNeedApproval)
                    .to_owned(),
            )
            .await?;
        for table in [
            Reactions::Table.into_iden(),
            Replies::Table.into_iden(),
            InboxSeen::Table.into_iden(),
            Following::Table.into_iden(),
            Followers::Table.into_iden(),
            RemoteActors::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
