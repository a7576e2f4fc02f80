//! Linked documents (badge classes, issuer profiles, keys, revocation lists) fetched for
//! verification, kept in a bounded cache with a limited lifetime so a run of
//! verifications fetches each shared document once. Assertions are never cached: their
//! freshness is the point of re-checking them.

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
}

impl Documents {
    /// `ttl` bounds how long a fetched document is trusted; `capacity` how many are kept.
    pub fn new(fetcher: Fetcher, ttl: Duration, capacity: u64) -> Documents {
        let cache = Cache::builder()
            .time_to_live(ttl)
            .max_capacity(capacity)
            .build();
        Documents { fetcher, cache }
    }

    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// A successful (2xx) answer for `url`, from the cache when it is fresh. Concurrent
    /// requests for the same URL share one fetch.
    pub async fn get(&self, url: &str) -> Result<Arc<Fetched>, LinkError> {
        let fetcher = self.fetcher.clone();
        let owned = url.to_string();
        self.cache
            .try_get_with(url.to_string(), async move {
                let fetched = fetcher
                    .get(&owned, Accept::Document)
                    .await
                    .map_err(|e| LinkError::from_fetch(&owned, &e))?;
                if !fetched.is_success() {
                    return Err(LinkError::Status {
                        url: owned,
                        status: fetched.status,
                    });
                }
                Ok(Arc::new(fetched))
            })
            .await
            .map_err(|e| (*e).clone())
    }

    /// Forgets a cached document, e.g. a key that failed to verify (it may have rotated).
    pub async fn forget(&self, url: &str) {
        self.cache.invalidate(url).await;
    }
}
