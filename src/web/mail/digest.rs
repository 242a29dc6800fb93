//! The daily digest: each person with an address, who did not opt out, and for whom
//! something waits (followers awaiting approval, replies awaiting moderation at the poles
//! they edit) receives one message a day with the counts and the pages that handle them.
//!
//! Several processes may share one database: a digest is claimed in the database (the day
//! of the person's last digest changes to today in one statement) before it is sent, so that
//! only one of them sends it; one that cannot be sent is given back for a later run.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Timelike, Utc};
use tokio::sync::watch;

use super::Mailer;
use super::messages::{self, BOTH, Site};
use crate::federation::delivery::worker::stopped;
use crate::store::{LinkPurpose, Store, StoreError};

/// How often the background task looks whether the day's digests are due.
const CHECK_EVERY: Duration = Duration::from_secs(900);

/// What a run of the digest did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestReport {
    /// Messages sent.
    pub sent: usize,
    /// Messages that could not be sent (tried again on a later run).
    pub failed: usize,
}

/// Sends the digests of `day` that are due and not sent yet.
pub async fn send_digests(
    store: &Store,
    mailer: &Mailer,
    day: NaiveDate,
) -> Result<DigestReport, StoreError> {
    let mut report = DigestReport::default();
    if !mailer.enabled() {
        return Ok(report);
    }
    let day = day.format("%Y-%m-%d").to_string();
    let name = super::site_name(store).await;
    let url = store.url("/");
    let site = Site {
        name: &name,
        url: &url,
    };
    for user in store.digest_recipients().await? {
        let Some(email) = user.email.as_deref() else {
            continue;
        };
        let waiting = store.waiting_for(&user).await?;
        if waiting.is_empty() || !store.claim_digest(user.id, &day).await? {
            continue;
        }
        let token = crate::web::pages::session::random_token();
        if let Err(e) = store
            .create_link(
                user.id,
                LinkPurpose::Unsubscribe,
                &crate::auth::hash_token(&token),
            )
            .await
        {
            store.release_digest(user.id, &day).await?;
            return Err(e);
        }
        let unsubscribe = store.url(&format!("/mail/unsubscribe?token={token}"));
        let mail = messages::digest(BOTH, &site, &waiting, &unsubscribe);
        match mailer.send(email, &mail).await {
            Ok(()) => report.sent += 1,
            Err(e) => {
                tracing::warn!(user = %user.username, error = %e, "digest not sent; trying again later");
                store.release_digest(user.id, &day).await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Sends the day's digests from `hour` (UTC) on, looking every quarter of an hour, and
/// forgets expired links.
pub async fn run(
    store: Store,
    mailer: Arc<Mailer>,
    hour: u32,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        // The first look waits too: a server that starts has other things to do.
        tokio::select! {
            () = tokio::time::sleep(CHECK_EVERY) => {}
            () = stopped(&mut shutdown) => return,
        }
        let now = Utc::now();
        if now.hour() >= hour {
            match send_digests(&store, &mailer, now.date_naive()).await {
                Ok(report) if report.sent + report.failed > 0 => {
                    tracing::info!(sent = report.sent, failed = report.failed, "digests");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the digest failed; trying again later"),
            }
        }
        if let Err(e) = store.prune_links(now).await {
            tracing::warn!(error = %e, "cannot forget expired links");
        }
    }
}
