//! Initial schema.
//!
//! The identifiers below are deliberately private to this file: a migration
//! records the shape of the tables at the time it was written, so it must
//! never follow later edits to the entities.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    // SQLite has transactional DDL too; without this a failure halfway
    // through would leave a partial schema there, while PostgreSQL rolls back.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Instance::Table)
                    .col(
                        ColumnDef::new(Instance::Id)
                            .integer()
                            .not_null()
                            .primary_key()
                            // The instance settings are a singleton row.
                            .check(Expr::col(Instance::Id).eq(1)),
                    )
                    .col(col::text(Instance::Name))
                    .col(col::text_null(Instance::Summary))
                    .col(col::text_null(Instance::ContactEmail))
                    .col(col::timestamp(Instance::CreatedAt))
                    .col(col::timestamp(Instance::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(col::id(Users::Id))
                    .col(col::text(Users::Username).unique_key())
                    .col(col::text_null(Users::Email))
                    .col(col::text_null(Users::PasswordHash))
                    .col(col::text(Users::Role))
                    .col(col::timestamp(Users::CreatedAt))
                    .col(col::timestamp(Users::UpdatedAt))
                    .col(col::timestamp_null(Users::DisabledAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Media::Table)
                    .col(col::id(Media::Id))
                    .col(col::text(Media::Sha256).unique_key())
                    .col(col::text(Media::ContentType))
                    .col(col::big_integer(Media::Size))
                    .col(ColumnDef::new(Media::Data).blob().not_null())
                    .col(col::timestamp(Media::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Poles::Table)
                    .col(col::id(Poles::Id))
                    .col(col::text(Poles::ApId).unique_key())
                    .col(col::boolean(Poles::Local))
                    .col(col::text(Poles::Domain))
                    .col(col::text(Poles::Slug))
                    .col(col::text(Poles::Name))
                    .col(col::text_null(Poles::Summary))
                    .col(col::text_null(Poles::Description))
                    .col(col::text_null(Poles::DescriptionFormat))
                    .col(col::text_null(Poles::DescriptionHtml))
                    .col(col::text_null(Poles::Website))
                    .col(col::text_null(Poles::ContactEmail))
                    .col(col::text_null(Poles::ContactPhone))
                    .col(col::integer_null(Poles::FoundedYear))
                    .col(col::text_null(Poles::LegalForm))
                    .col(col::text_null(Poles::Siren))
                    .col(col::text_null(Poles::TerritoryKind))
                    .col(col::text_null(Poles::TerritoryLabel))
                    .col(col::json(Poles::Communes))
                    .col(col::json(Poles::Themes))
                    .col(col::json(Poles::Pooling))
                    .col(col::json_null(Poles::SharedPlace))
                    .col(col::json(Poles::NationalCalls))
                    .col(col::integer_null(Poles::CharterSignedYear))
                    .col(col::boolean(Poles::ManuallyApprovesFollowers))
                    .col(col::big_integer_null(Poles::LogoMediaId))
                    .col(col::big_integer_null(Poles::BannerMediaId))
                    .col(col::integer(Poles::Version))
                    .col(col::timestamp(Poles::CreatedAt))
                    .col(col::timestamp(Poles::UpdatedAt))
                    .col(col::timestamp_null(Poles::DeletedAt))
                    .index(
                        Index::create()
                            .name("uq_poles_domain_slug")
                            .col(Poles::Domain)
                            .col(Poles::Slug)
                            .unique(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_poles_logo_media_id")
                            .from(Poles::Table, Poles::LogoMediaId)
                            .to(Media::Table, Media::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_poles_banner_media_id")
                            .from(Poles::Table, Poles::BannerMediaId)
                            .to(Media::Table, Media::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserPoles::Table)
                    .col(col::big_integer(UserPoles::UserId))
                    .col(col::big_integer(UserPoles::PoleId))
                    .primary_key(
                        Index::create()
                            .name("pk_user_poles")
                            .col(UserPoles::UserId)
                            .col(UserPoles::PoleId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_poles_user_id")
                            .from(UserPoles::Table, UserPoles::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_poles_pole_id")
                            .from(UserPoles::Table, UserPoles::PoleId)
                            .to(Poles::Table, Poles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(col::id(ApiTokens::Id))
                    .col(col::big_integer(ApiTokens::UserId))
                    .col(col::text(ApiTokens::Name))
                    .col(col::text(ApiTokens::Prefix))
                    .col(col::text(ApiTokens::TokenHash).unique_key())
                    .col(col::timestamp(ApiTokens::CreatedAt))
                    .col(col::timestamp_null(ApiTokens::LastUsedAt))
                    .col(col::timestamp_null(ApiTokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_tokens_user_id")
                            .from(ApiTokens::Table, ApiTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Members::Table)
                    .col(col::id(Members::Id))
                    .col(col::big_integer(Members::PoleId))
                    .col(col::text(Members::Name))
                    .col(col::text(Members::LegalForm))
                    .col(col::boolean(Members::Ess))
                    .col(col::text_null(Members::EmployeeBand))
                    .col(col::text_null(Members::Siret))
                    .col(col::text_null(Members::Website))
                    .col(col::text_null(Members::Role))
                    .col(col::integer_null(Members::JoinedYear))
                    .col(col::timestamp(Members::CreatedAt))
                    .col(col::timestamp(Members::UpdatedAt))
                    .foreign_key(&mut pole_fk(
                        "fk_members_pole_id",
                        Members::Table,
                        Members::PoleId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_members_pole_id")
                    .table(Members::Table)
                    .col(Members::PoleId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Projects::Table)
                    .col(col::id(Projects::Id))
                    .col(col::text(Projects::PublicId).unique_key())
                    .col(col::text(Projects::ApId).unique_key())
                    .col(col::boolean(Projects::Local))
                    .col(col::big_integer(Projects::PoleId))
                    .col(col::text(Projects::Title))
                    .col(col::text_null(Projects::Summary))
                    .col(col::text_null(Projects::Description))
                    .col(col::text_null(Projects::DescriptionFormat))
                    .col(col::text_null(Projects::DescriptionHtml))
                    .col(col::text(Projects::Status))
                    .col(col::json(Projects::PartnerMemberIds))
                    .col(col::json(Projects::Themes))
                    .col(col::json(Projects::Communes))
                    .col(col::text_null(Projects::TerritoryKind))
                    .col(col::text_null(Projects::TerritoryLabel))
                    .col(col::date_null(Projects::StartDate))
                    .col(col::date_null(Projects::EndDate))
                    .col(col::json(Projects::Links))
                    .col(col::integer(Projects::Version))
                    .col(col::timestamp(Projects::PublishedAt))
                    .col(col::timestamp(Projects::CreatedAt))
                    .col(col::timestamp(Projects::UpdatedAt))
                    .col(col::timestamp_null(Projects::DeletedAt))
                    .foreign_key(&mut pole_fk(
                        "fk_projects_pole_id",
                        Projects::Table,
                        Projects::PoleId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_projects_pole_id_published_at")
                    .table(Projects::Table)
                    .col(Projects::PoleId)
                    .col(Projects::PublishedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(col::id(Events::Id))
                    .col(col::text(Events::PublicId).unique_key())
                    .col(col::text(Events::ApId).unique_key())
                    .col(col::boolean(Events::Local))
                    .col(col::big_integer(Events::PoleId))
                    .col(col::text(Events::Title))
                    .col(col::text_null(Events::Summary))
                    .col(col::text_null(Events::Description))
                    .col(col::text_null(Events::DescriptionFormat))
                    .col(col::text_null(Events::DescriptionHtml))
                    .col(col::timestamp(Events::StartsAt))
                    .col(col::timestamp_null(Events::EndsAt))
                    .col(col::text(Events::Timezone))
                    .col(col::json_null(Events::Place))
                    .col(col::text_null(Events::OnlineUrl))
                    .col(col::json(Events::OrganiserPoles))
                    .col(col::text_null(Events::RegistrationUrl))
                    .col(col::integer_null(Events::Capacity))
                    .col(col::text(Events::Status))
                    .col(col::integer(Events::Version))
                    .col(col::timestamp(Events::PublishedAt))
                    .col(col::timestamp(Events::CreatedAt))
                    .col(col::timestamp(Events::UpdatedAt))
                    .col(col::timestamp_null(Events::DeletedAt))
                    .foreign_key(&mut pole_fk(
                        "fk_events_pole_id",
                        Events::Table,
                        Events::PoleId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_events_pole_id_starts_at")
                    .table(Events::Table)
                    .col(Events::PoleId)
                    .col(Events::StartsAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_events_starts_at")
                    .table(Events::Table)
                    .col(Events::StartsAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Calls::Table)
                    .col(col::id(Calls::Id))
                    .col(col::text(Calls::PublicId).unique_key())
                    .col(col::text(Calls::ApId).unique_key())
                    .col(col::boolean(Calls::Local))
                    .col(col::big_integer(Calls::PoleId))
                    .col(col::text(Calls::Title))
                    .col(col::text_null(Calls::Summary))
                    .col(col::text_null(Calls::Description))
                    .col(col::text_null(Calls::DescriptionFormat))
                    .col(col::text_null(Calls::DescriptionHtml))
                    .col(col::text(Calls::Direction))
                    .col(col::json(Calls::Subjects))
                    .col(col::json(Calls::Themes))
                    .col(col::json(Calls::Communes))
                    .col(col::text_null(Calls::TerritoryKind))
                    .col(col::text_null(Calls::TerritoryLabel))
                    .col(col::date_null(Calls::Deadline))
                    .col(col::text(Calls::HowToAnswer))
                    .col(col::text(Calls::Status))
                    .col(col::integer(Calls::Version))
                    .col(col::timestamp(Calls::PublishedAt))
                    .col(col::timestamp(Calls::CreatedAt))
                    .col(col::timestamp(Calls::UpdatedAt))
                    .col(col::timestamp_null(Calls::DeletedAt))
                    .foreign_key(&mut pole_fk(
                        "fk_calls_pole_id",
                        Calls::Table,
                        Calls::PoleId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_calls_pole_id_published_at")
                    .table(Calls::Table)
                    .col(Calls::PoleId)
                    .col(Calls::PublishedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Changes::Table)
                    .col(col::id(Changes::Id))
                    .col(col::big_integer(Changes::PoleId))
                    .col(col::text(Changes::ObjectKind))
                    .col(col::big_integer(Changes::ObjectId))
                    .col(col::text_null(Changes::ObjectApId))
                    .col(col::text(Changes::Action))
                    .col(col::integer(Changes::Version))
                    .col(col::json_null(Changes::Snapshot))
                    .col(col::timestamp(Changes::CreatedAt))
                    .foreign_key(&mut pole_fk(
                        "fk_changes_pole_id",
                        Changes::Table,
                        Changes::PoleId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_changes_pole_id_id")
                    .table(Changes::Table)
                    .col(Changes::PoleId)
                    .col(Changes::Id)
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents, so no foreign key is ever left dangling.
        let tables: [DynIden; 11] = [
            Changes::Table.into_iden(),
            Calls::Table.into_iden(),
            Events::Table.into_iden(),
            Projects::Table.into_iden(),
            Members::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            UserPoles::Table.into_iden(),
            Poles::Table.into_iden(),
            Media::Table.into_iden(),
            Users::Table.into_iden(),
            Instance::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Every pole-owned table disappears with its pole.
fn pole_fk<T, C>(name: &str, table: T, column: C) -> ForeignKeyCreateStatement
where
    T: IntoIden,
    C: IntoIden,
{
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Poles::Table, Poles::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Column shapes shared by every table, so that nullability is always explicit.
mod col {
    use sea_orm_migration::prelude::*;

    /// On SQLite, sea-query renders `big_integer` as `integer`, so this becomes
    /// `integer NOT NULL PRIMARY KEY AUTOINCREMENT`: a rowid alias, as SQLite
    /// requires for auto-increment. On PostgreSQL it is a `bigint` identity.
    pub fn id<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name)
            .big_integer()
            .not_null()
            .auto_increment()
            .primary_key()
            .take()
    }

    pub fn text<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).text().not_null().take()
    }

    pub fn text_null<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).text().null().take()
    }

    pub fn boolean<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).boolean().not_null().take()
    }

    pub fn integer<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).integer().not_null().take()
    }

    pub fn integer_null<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).integer().null().take()
    }

    pub fn big_integer<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).big_integer().not_null().take()
    }

    pub fn big_integer_null<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).big_integer().null().take()
    }

    pub fn json<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).json().not_null().take()
    }

    pub fn json_null<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).json().null().take()
    }

    pub fn timestamp<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name)
            .timestamp_with_time_zone()
            .not_null()
            .take()
    }

    pub fn timestamp_null<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name)
            .timestamp_with_time_zone()
            .null()
            .take()
    }

    pub fn date_null<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).date().null().take()
    }
}

#[derive(DeriveIden)]
enum Instance {
    Table,
    Id,
    Name,
    Summary,
    ContactEmail,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    Email,
    PasswordHash,
    Role,
    CreatedAt,
    UpdatedAt,
    DisabledAt,
}

#[derive(DeriveIden)]
enum Media {
    Table,
    Id,
    Sha256,
    ContentType,
    Size,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Poles {
    Table,
    Id,
    ApId,
    Local,
    Domain,
    Slug,
    Name,
    Summary,
    Description,
    DescriptionFormat,
    DescriptionHtml,
    Website,
    ContactEmail,
    ContactPhone,
    FoundedYear,
    LegalForm,
    Siren,
    TerritoryKind,
    TerritoryLabel,
    Communes,
    Themes,
    Pooling,
    SharedPlace,
    NationalCalls,
    CharterSignedYear,
    ManuallyApprovesFollowers,
    LogoMediaId,
    BannerMediaId,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum UserPoles {
    Table,
    UserId,
    PoleId,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    Prefix,
    TokenHash,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Members {
    Table,
    Id,
    PoleId,
    Name,
    LegalForm,
    Ess,
    EmployeeBand,
    Siret,
    Website,
    Role,
    JoinedYear,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    PublicId,
    ApId,
    Local,
    PoleId,
    Title,
    Summary,
    Description,
    DescriptionFormat,
    DescriptionHtml,
    Status,
    PartnerMemberIds,
    Themes,
    Communes,
    TerritoryKind,
    TerritoryLabel,
    StartDate,
    EndDate,
    Links,
    Version,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    PublicId,
    ApId,
    Local,
    PoleId,
    Title,
    Summary,
    Description,
    DescriptionFormat,
    DescriptionHtml,
    StartsAt,
    EndsAt,
    Timezone,
    Place,
    OnlineUrl,
    OrganiserPoles,
    RegistrationUrl,
    Capacity,
    Status,
    Version,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Calls {
    Table,
    Id,
    PublicId,
    ApId,
    Local,
    PoleId,
    Title,
    Summary,
    Description,
    DescriptionFormat,
    DescriptionHtml,
    Direction,
    Subjects,
    Themes,
    Communes,
    TerritoryKind,
    TerritoryLabel,
    Deadline,
    HowToAnswer,
    Status,
    Version,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Changes {
    Table,
    Id,
    PoleId,
    ObjectKind,
    ObjectId,
    ObjectApId,
    Action,
    Version,
    Snapshot,
    CreatedAt,
}
