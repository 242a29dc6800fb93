//! Organisers of events that are not PTCE poles (a Mobilizon group, a Gancio instance), and
//! the page an event comes from.
//!
//! An organiser is kept as a row of `poles` with `ptce = false` rather than in a table of its
//! own: events, their history, the directory index and the feeds all hang off `pole_id`, so
//! the events of an organiser are stored, searched, updated and deleted by the very code that
//! handles the events of a pole, and only the places that list or count poles need to skip
//! the rows that are not poles. `ptce` defaults to true, so every existing row stays a pole.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Poles {
    Table,
    Ptce,
}

#[derive(DeriveIden, Clone, Copy)]
enum Events {
    Table,
    SourceUrl,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Poles::Table)
                    .add_column(
                        ColumnDef::new(Poles::Ptce)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .to_owned(),
            )
            .await?;
        // The event's own page on the server it comes from, when it is not its id.
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .add_column(ColumnDef::new(Events::SourceUrl).text().null())
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .drop_column(Events::SourceUrl)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Poles::Table)
                    .drop_column(Poles::Ptce)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
