//! Blocking domains at run time. The blocks an administrator adds are stored; every check
//! (inbox, fetches, deliveries) sees them together with those of the configuration, at once
//! in this process and within [`RELOAD_EVERY`] in the others sharing the database.

use std::time::Duration;

use super::activities::announce;
use super::fetch::service::{Federation, FederationError, Result};
use super::fetch::url_check::parse_domain;
use crate::store::{DomainBlockRecord, StoreError};

/// How often the stored blocks are read again, for those another process changed.
pub const RELOAD_EVERY: Duration = Duration::from_secs(60);

/// The longest reason kept with a block, in characters.
pub const MAX_REASON: usize = 500;

/// Reads the stored blocks into the set every check uses; returns how many there are.
pub async fn reload(fed: &Federation) -> Result<usize> {
    // One reload at a time, so that an older read never replaces a newer one.
    let _one_at_a_time = fed.blocks_reload.lock().await;
    let domains: Vec<String> = fed
        .store
        .domain_blocks()
        .await?
        .into_iter()
        .map(|b| b.domain)
        .collect();
    let count = domains.len();
    fed.client.blocks().set_stored(domains);
    Ok(count)
}

/// A domain as given by a person, in the form blocks keep.
pub fn domain_input(input: &str) -> Result<String> {
    parse_domain(input).map_err(|e| FederationError::Invalid(e.to_string()))
}

/// Blocks a domain and its subdomains, then forgets what came from it: its followers (of
/// the poles and of the instance), its likes, boosts and replies, and its poles with their
/// objects, also those its instance actors relayed (except poles followed directly). What
/// was queued for it is given up.
pub async fn block(
    fed: &Federation,
    domain: &str,
    reason: Option<&str>,
    created_by: Option<&str>,
) -> Result<DomainBlockRecord> {
    let domain = domain_input(domain)?;
    if super::fetch::url_check::DomainBlocks::new([domain.clone()]).is_blocked(fed.store.domain()) {
        return Err(FederationError::Invalid(format!(
            "`{domain}` is this instance's own domain"
        )));
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
        return Err(FederationError::Invalid(format!(
            "the reason is longer than {MAX_REASON} characters"
        )));
    }
    let record = fed
        .store
        .add_domain_block(&domain, reason, created_by)
        .await?;
    reload(fed).await?;
    let forgotten = fed.store.forget_domain(&domain).await?;
    let mut poles = 0;
    for ap_id in &forgotten.poles {
        if fed.store.delete_remote_pole(ap_id).await? {
            poles += 1;
        }
    }
    for actor in &forgotten.actors {
        fed.actors.forget(actor);
        poles += announce::forget_relayed(fed, actor).await?;
    }
    fed.publish_wakeup.notify_one();
    tracing::info!(
        %domain,
        by = created_by.unwrap_or("command line"),
        followers = forgotten.followers,
        reactions = forgotten.reactions,
        replies = forgotten.replies,
        deliveries = forgotten.deliveries,
        poles,
        "domain blocked"
    );
    Ok(record)
}

/// Lifts a stored block. A domain blocked by the configuration stays blocked until it is
/// removed from there.
pub async fn unblock(fed: &Federation, domain: &str, by: Option<&str>) -> Result<()> {
    let domain = domain_input(domain)?;
    if !fed.store.remove_domain_block(&domain).await? {
        if let Some(configured) = fed.client.blocks().configured_block(&domain) {
            return Err(StoreError::Conflict(format!(
                "`{domain}` is blocked by the configuration (`{configured}` in federation.blocked_domains): remove it there and restart"
            ))
            .into());
        }
        return Err(FederationError::NotFound(format!(
            "the domain `{domain}` is not blocked"
        )));
    }
    reload(fed).await?;
    tracing::info!(%domain, by = by.unwrap_or("command line"), "domain unblocked");
    Ok(())
}
