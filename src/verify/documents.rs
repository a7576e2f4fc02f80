//! Linked documents (badge classes, issuer profiles, keys, revocation lists) fetched for
//! verification, kept in a bounded cache with a limited lifetime so a run of
//! verifications fetches each shared document once. Assertions are never cached: their
//! freshness is the point of re-checking them.
//!
//! A [`DocumentMemory`] outlives one cache: it keeps the last copy of each document that
//! came with an `ETag` or `Last-Modified`, so the next run asks the issuer whether it
//! changed (a conditional request) instead of downloading it again.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;

use crate::fetch::{Accept, FetchError, Fetched, Fetcher};

/// Why a linked document could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LinkError {
    #[error("{url} could not be fetched: {message}")]
    Unreachable {
        url: String,
        code: &'static str,
        message: String,
    },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
}

impl LinkError {
    pub fn code(&self) -> &'static str {
        match self {
            LinkError::Unreachable { code, .. } => code,
            LinkError::Status { .. } => "fetch_status",
        }
    }

    fn from_fetch(url: &str, error: &FetchError) -> LinkError {
        LinkError::Unreachable {
            url: url.to_string(),
            code: error.code(),
            message: error.to_string(),
        }
    }
}

/// Fetches linked documents through the bounded fetcher, with a shared cache.
#[derive(Clone)]
pub struct Documents {
    fetcher: Fetcher,
    cache: Cache<String, Arc<Fetched>>,
    memory: Option<DocumentMemory>,
}

/// The last copy of documents whose server gave validators, kept across runs.
#[derive(Clone)]
pub struct DocumentMemory(Cache<String, Arc<Fetched>>);

impl DocumentMemory {
    /// Remembers at most `capacity` documents, each for at most `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> DocumentMemory {
        DocumentMemory(
            Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        )
    }
}

impl Documents {
    /// `ttl` bounds how long a fetched document is trusted; `capacity` how many are kept.
    pub fn new(fetcher: Fetcher, ttl: Duration, capacity: u64) -> Documents {
        let cache = Cache::builder()
            .time_to_live(ttl)
            .max_capacity(capacity)
            .build();
        Documents {
            fetcher,
            cache,
            memory: None,
        }
    }

    /// Like [`Documents::new`], revalidating documents remembered in `memory` with
    /// conditional requests and remembering what it fetches there.
    pub fn remembering(
        fetcher: Fetcher,
        ttl: Duration,
        capacity: u64,
        memory: DocumentMemory,
    ) -> Documents {
        Documents {
            memory: Some(memory),
            ..Documents::new(fetcher, ttl, capacity)
        }
    }

    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// A successful (2xx) answer for `url`, from the cache when it is fresh. Concurrent
    /// requests for the same URL share one fetch.
    pub async fn get(&self, url: &str) -> Result<Arc<Fetched>, LinkError> {
        let fetcher = self.fetcher.clone();
        let memory = self.memory.clone();
        let owned = url.to_string();
        self.cache
            .try_get_with(url.to_string(), async move {
                let prior = match &memory {
                    Some(memory) => memory.0.get(&owned).await,
                    None => None,
                };
                let etag = prior.as_ref().and_then(|p| p.etag.as_deref());
                let modified = prior.as_ref().and_then(|p| p.last_modified.as_deref());
                let fetched = fetcher
                    .get_conditional(&owned, Accept::Document, etag, modified)
                    .await
                    .map_err(|e| LinkError::from_fetch(&owned, &e))?;
                let fetched = match prior {
                    Some(prior) if fetched.status == 304 => prior,
                    _ if !fetched.is_success() => {
                        return Err(LinkError::Status {
                            url: owned,
                            status: fetched.status,
                        })
                    }
                    _ => Arc::new(fetched),
                };
                if let Some(memory) = &memory {
                    if fetched.etag.is_some() || fetched.last_modified.is_some() {
                        memory.0.insert(owned, fetched.clone()).await;
                    }
                }
                Ok(fetched)
            })
            .await
            .map_err(|e| (*e).clone())
    }

    /// Forgets a cached document, e.g. a key that failed to verify (it may have rotated).
    pub async fn forget(&self, url: &str) {
        self.cache.invalidate(url).await;
    }
}
