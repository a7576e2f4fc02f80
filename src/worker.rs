//! The revalidation worker: it re-checks stored badges when they fall due, through the one
//! verification pipeline, and records what changed ([`crate::revalidate`]).
//!
//! Each pass claims a batch of due badges with a lease ([`badge_queries::claim_due`]), so
//! several instances sharing one PostgreSQL database never check a badge twice, and a
//! badge claimed by an instance that died is taken over once its lease runs out. Within a
//! run, linked documents (badge classes, issuers, keys, revocation lists) are fetched once
//! and shared by every badge that links them; hosted assertions are fetched conditionally
//! against the copy kept from the last check. Badges are checked a bounded number at a
//! time, with a bounded number of requests in flight to any one issuer host.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use futures_util::{stream, StreamExt};
use serde::Serialize;

use crate::backpack;
use crate::db::badges::{self as badge_queries, BadgeSummary};
use crate::db::models::{email_queries, now};
use crate::error::AppError;
use crate::revalidate::{self, Plan, Policy, Seen, Settled};
use crate::startup::AppState;
use crate::verify::{DocumentMemory, IssuerCopy, RecipientRule, Verifier};

/// How many due badges one step claims at most, per unit of concurrency.
const BATCH_PER_SLOT: usize = 8;

/// One worker run: an identity for its leases and a verifier whose document cache lives as
/// long as the run.
pub struct Worker {
    state: actix_web::web::Data<AppState>,
    owner: String,
    memory: DocumentMemory,
    verifier: Verifier,
}

/// What one step did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct StepReport {
    /// Badges claimed by this step.
    pub claimed: usize,
    /// What each claimed badge came to.
    pub settled: Vec<Settled>,
}

impl StepReport {
    /// The badges whose status changed.
    pub fn changed(&self) -> impl Iterator<Item = &Settled> {
        self.settled.iter().filter(|s| s.changed())
    }
}

impl Worker {
    /// A worker with a fresh identity and an empty document memory.
    pub fn new(state: actix_web::web::Data<AppState>) -> Worker {
        let owner = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        let memory = DocumentMemory::new(100_000, std::time::Duration::from_secs(7 * 86_400));
        Worker::with(state, owner, memory)
    }

    fn with(
        state: actix_web::web::Data<AppState>,
        owner: String,
        memory: DocumentMemory,
    ) -> Worker {
        let verifier = state
            .verifier
            .for_run(state.settings.worker.per_host, memory.clone());
        Worker {
            state,
            owner,
            memory,
            verifier,
        }
    }

    /// The same worker for its next run: same identity and document memory, a fresh cache
    /// (documents fetched in earlier runs are asked for again, conditionally).
    pub fn next_run(&self) -> Worker {
        Worker::with(self.state.clone(), self.owner.clone(), self.memory.clone())
    }

    /// The identity written on the badges this worker claims.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Claims up to `limit` badges due at `now` and re-checks them. `now` is the clock for
    /// what is due, leases, expiry dates, backoff and the unreachable period (tests move
    /// it; the service passes the real time).
    pub async fn step(&self, now: NaiveDateTime, limit: usize) -> Result<StepReport, AppError> {
        let settings = &self.state.settings.worker;
        let lease = chrono::Duration::from_std(settings.lease)
            .unwrap_or_else(|_| chrono::Duration::minutes(10));
        let (owner, until) = (self.owner.clone(), now + lease);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let claimed = self
            .state
            .db
            .transaction(move |conn| Ok(badge_queries::claim_due(conn, &owner, now, until, limit)?))
            .await?;
        if claimed.is_empty() {
            return Ok(StepReport::default());
        }
        let ids: Vec<String> = claimed.iter().map(|b| b.id.clone()).collect();
        let (payloads, copies) = self
            .state
            .db
            .run(move |conn| {
                let payloads: HashMap<_, _> =
                    badge_queries::payloads(conn, &ids)?.into_iter().collect();
                let copies: HashMap<_, _> = badge_queries::copies(conn, &ids)?
                    .into_iter()
                    .map(|c| (c.badge_id.clone(), IssuerCopy::from(c)))
                    .collect();
                Ok((payloads, copies))
            })
            .await?;
        let addresses = self.confirmed_by_user(&claimed).await?;
        let (payloads, copies) = (Arc::new(payloads), Arc::new(copies));
        let count = claimed.len();
        let plans: Vec<Result<Plan, AppError>> = stream::iter(claimed)
            .map(|badge| {
                let (payloads, copies, addresses) =
                    (payloads.clone(), copies.clone(), addresses.clone());
                async move {
                    let payload = payloads.get(&badge.id).map(String::as_str).unwrap_or("");
                    let confirmed = addresses.get(&badge.user_id).map_or(&[][..], Vec::as_slice);
                    self.check(&badge, payload, copies.get(&badge.id), confirmed, now)
                        .await
                }
            })
            .buffer_unordered(settings.concurrency)
            .collect()
            .await;
        let plans: Vec<Plan> = plans
            .into_iter()
            .filter_map(|plan| {
                // The lease runs out and a later step retries the badge.
                plan.map_err(|e| tracing::warn!(error = %e, "a badge re-check failed"))
                    .ok()
            })
            .collect();
        // One transaction for the batch: on SQLite one writer turn instead of one per badge.
        let owner = self.owner.clone();
        let (plans, written) = self
            .state
            .db
            .transaction(move |conn| {
                let written = plans
                    .iter()
                    .map(|plan| revalidate::apply(conn, plan, Some(&owner)))
                    .collect::<Result<Vec<bool>, _>>()?;
                Ok((plans, written))
            })
            .await?;
        let mut report = StepReport {
            claimed: count,
            settled: Vec::with_capacity(count),
        };
        for (plan, written) in plans.iter().zip(written) {
            report
                .settled
                .push(revalidate::finish(&self.state, plan, written).await);
        }
        Ok(report)
    }

    /// Re-checks every badge due at `now`, step after step, until none is left. Each step
    /// runs at the later of `now` and the real time, so that the leases of a long drain
    /// are counted from when their badges are claimed.
    pub async fn drain(&self, now: NaiveDateTime) -> Result<StepReport, AppError> {
        let batch = self.state.settings.worker.concurrency * BATCH_PER_SLOT;
        let mut total = StepReport::default();
        loop {
            let step = self.step(now.max(crate::db::models::now()), batch).await?;
            if step.claimed == 0 {
                return Ok(total);
            }
            total.claimed += step.claimed;
            total.settled.extend(step.settled);
        }
    }

    /// Verifies one claimed badge and plans what to write.
    async fn check(
        &self,
        badge: &BadgeSummary,
        payload: &str,
        prior: Option<&IssuerCopy>,
        confirmed: &[String],
        now: NaiveDateTime,
    ) -> Result<Plan, AppError> {
        let policy = Policy::from(&self.state.settings.worker);
        let passed = badge.expires_at.is_some_and(|at| at <= now);
        if passed
            && matches!(
                badge.status.as_str(),
                "valid" | "unverifiable" | "unreachable"
            )
        {
            // Expired by its date: no need to ask the issuer.
            return Ok(revalidate::plan_attempt(
                badge,
                Seen::DateOnly,
                None,
                now,
                policy,
            ));
        }
        let report = self
            .verifier
            .verify_stored(
                payload.as_bytes(),
                confirmed,
                RecipientRule::Required,
                prior,
            )
            .await;
        revalidate::plan(badge, &report, now, policy)
    }

    /// The confirmed addresses of every account owning one of `badges`, looked up once each.
    async fn confirmed_by_user(
        &self,
        badges: &[BadgeSummary],
    ) -> Result<Arc<HashMap<String, Vec<String>>>, AppError> {
        let mut users: Vec<String> = badges.iter().map(|b| b.user_id.clone()).collect();
        users.sort();
        users.dedup();
        let found = self
            .state
            .db
            .run(move |conn| {
                let mut found = HashMap::new();
                for user in users {
                    let addresses = email_queries::confirmed_addresses(conn, &user)?;
                    found.insert(user, addresses);
                }
                Ok(found)
            })
            .await?;
        Ok(Arc::new(found))
    }
}

/// Runs the worker until the process stops: every poll interval, re-checks every due
/// badge, and drops pending badges and held pushes that waited too long.
pub async fn run_forever(state: actix_web::web::Data<AppState>) {
    let poll = state.settings.worker.poll;
    let mut worker = Worker::new(state.clone());
    tracing::info!(worker.owner = %worker.owner(), poll_secs = poll.as_secs(),
        "revalidation worker started");
    loop {
        match worker.drain(now()).await {
            Ok(done) if done.claimed > 0 => {
                let changed = done.changed().count();
                let stale = done.settled.iter().filter(|s| s.stale).count();
                tracing::info!(
                    checked = done.claimed,
                    changed,
                    stale,
                    "revalidation pass done"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "revalidation pass failed"),
        }
        if let Err(error) = backpack::drop_expired_pending(&state, state.settings.pending_ttl).await
        {
            tracing::warn!(error = %error, "could not drop expired pending badges");
        }
        if let Err(error) =
            crate::push::drop_expired_held(&state, state.settings.push.held_ttl).await
        {
            tracing::warn!(error = %error, "could not drop expired held pushes");
        }
        tokio::time::sleep(poll).await;
        worker = worker.next_run();
    }
}
