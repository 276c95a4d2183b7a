//! The safe fetcher: the one client for every outbound request.
//!
//! SECURITY.md "Outbound requests": the address check runs in the DNS
//! resolver reqwest dials through, so the address checked is the address
//! connected to (no rebinding window); IP-literal URLs, which skip the
//! resolver, are checked before sending. http(s) only; at most three
//! redirects, each re-checked; the body is capped (bytes after any decoding:
//! no compression is negotiated) and the whole request has one deadline, so a
//! slow-drip server cannot hold a worker.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};

use crate::net::AddressPolicy;

/// Why a fetch failed. Each variant names the URL it was about.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not an absolute http(s) URL.
    #[error("{url}: only http and https URLs may be fetched")]
    Scheme {
        /// The URL.
        url: String,
    },
    /// The host is, or resolves only to, an address we may not dial.
    #[error("{url}: refusing to connect to a non-public address")]
    Forbidden {
        /// The URL.
        url: String,
    },
    /// More redirects than allowed, or one without a usable Location.
    #[error("{url}: too many redirects or a broken redirect")]
    Redirects {
        /// The URL where it stopped.
        url: String,
    },
    /// The server answered with an error status.
    #[error("{url}: HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body was larger than the cap.
    #[error("{url}: the response is larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: usize,
    },
    /// The deadline passed.
    #[error("{url}: timed out")]
    Timeout {
        /// The URL.
        url: String,
    },
    /// Connection or protocol failure.
    #[error("{url}: {message}")]
    Transport {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The response is not of an accepted media type.
    #[error("{url}: unexpected content type {content_type:?}")]
    ContentType {
        /// The URL.
        url: String,
        /// What the server sent.
        content_type: String,
    },
    /// The body is not the JSON object expected.
    #[error("{url}: not a JSON object: {message}")]
    Json {
        /// The URL.
        url: String,
        /// The parse error.
        message: String,
    },
    /// The object's `id` differs from the URL it was fetched from.
    #[error("{url}: the document's id {id:?} is not the URL it came from")]
    IdMismatch {
        /// The final URL.
        url: String,
        /// The id it claimed.
        id: String,
    },
}

/// What a receiving server answered to a POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posted {
    /// The status code.
    pub status: u16,
    /// `Retry-After` in seconds from now, given either as a number or as an
    /// HTTP-date (a date in the past is 0).
    pub retry_after: Option<u64>,
}

/// A successful fetch.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL after redirects.
    pub final_url: String,
    /// The response's media type (lower-case, without parameters' case changed).
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

/// Limits of a [`Fetcher`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Which addresses may be dialled.
    pub policy: AddressPolicy,
    /// Largest body accepted.
    pub max_bytes: usize,
    /// Deadline for the whole request, body included.
    pub timeout: Duration,
    /// Redirects followed at most.
    pub max_redirects: usize,
}

impl Limits {
    /// The production defaults: public addresses only, 1 MiB, 10 s, 3 redirects.
    pub fn new(policy: AddressPolicy) -> Limits {
        Limits {
            policy,
            max_bytes: 1024 * 1024,
            timeout: Duration::from_secs(10),
            max_redirects: 3,
        }
    }
}

/// Filters DNS answers by the address policy.
struct GuardedResolver {
    policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| policy.allows(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The outbound HTTP client. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: Limits,
    /// Signs every GET when set (authorized fetch).
    signer: Option<Arc<GetSigner>>,
}

/// The key GETs are signed with: servers in "authorized fetch" (secure)
/// mode answer only signed fetches, and show restricted objects only to
/// signers allowed to see them.
pub struct GetSigner {
    /// The `keyId` (the signing actor's key URL).
    pub key_id: String,
    /// The private key.
    pub key: aws_lc_rs::rsa::KeyPair,
}

impl GetSigner {
    /// Adds `Date` and a draft-cavage `Signature` over `(request-target) host
    /// date accept` (as Mastodon signs its fetches) for `GET url`.
    fn sign(
        &self,
        request: reqwest::RequestBuilder,
        url: &url::Url,
        accept: &str,
    ) -> Result<reqwest::RequestBuilder, FetchError> {
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(port)) => format!("{h}:{port}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => {
                return Err(FetchError::Scheme {
                    url: url.to_string(),
                });
            }
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let date = crate::signatures::http_date(std::time::SystemTime::now());
        let headers = [
            ("host".to_owned(), host),
            ("date".to_owned(), date.clone()),
            ("accept".to_owned(), accept.to_owned()),
        ];
        let signature = crate::signatures::sign_request_covering(
            "GET",
            &path,
            &headers,
            &["(request-target)", "host", "date", "accept"],
            &self.key_id,
            &self.key,
        )
        .map_err(|e| FetchError::Transport {
            url: url.to_string(),
            message: format!("cannot sign the request: {e}"),
        })?;
        Ok(request.header("date", date).header("signature", signature))
    }
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Media types of ActivityStreams documents.
pub fn is_activity_json(content_type: &str) -> bool {
    let t = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    t == "application/activity+json" || t == "application/ld+json"
}

impl Fetcher {
    /// A fetcher with these limits, sending `user_agent`.
    pub fn new(limits: Limits, user_agent: &str) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver {
                policy: limits.policy,
            }))
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| FetchError::Transport {
                url: String::new(),
                message: e.to_string(),
            })?;
        Ok(Fetcher {
            client,
            limits,
            signer: None,
        })
    }

    /// The same client, signing every GET with `signer` (each redirect hop
    /// signed for its own URL).
    pub fn signing_gets(mut self, signer: GetSigner) -> Fetcher {
        self.signer = Some(Arc::new(signer));
        self
    }

    /// Checks scheme and IP-literal hosts (which bypass the resolver).
    fn check_url(&self, url: &url::Url) -> Result<(), FetchError> {
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(FetchError::Scheme {
                url: url.to_string(),
            });
        }
        let literal: Option<IpAddr> = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => None,
            None => {
                return Err(FetchError::Scheme {
                    url: url.to_string(),
                });
            }
        };
        if literal.is_some_and(|ip| !self.limits.policy.allows(ip)) {
            return Err(FetchError::Forbidden {
                url: url.to_string(),
            });
        }
        Ok(())
    }

    /// `GET url` with `Accept: accept`, following redirects within the limits.
    pub async fn get(&self, url: &str, accept: &str) -> Result<Fetched, FetchError> {
        let mut current = url::Url::parse(url).map_err(|_| FetchError::Scheme {
            url: url.to_owned(),
        })?;
        for _ in 0..=self.limits.max_redirects {
            self.check_url(&current)?;
            let here = current.to_string();
            let mut request = self.client.get(current.clone()).header(ACCEPT, accept);
            if let Some(signer) = &self.signer {
                request = signer.sign(request, &current, accept)?;
            }
            let response = request.send().await.map_err(|e| transport(&here, e))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| current.join(l).ok())
                    .ok_or_else(|| FetchError::Redirects { url: here.clone() })?;
                current = location;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    url: here,
                    status: status.as_u16(),
                });
            }
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let limit = self.limits.max_bytes;
            if response.content_length().is_some_and(|n| n > limit as u64) {
                return Err(FetchError::TooLarge { url: here, limit });
            }
            let mut response = response;
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| transport(&here, e))? {
                if body.len() + chunk.len() > limit {
                    return Err(FetchError::TooLarge { url: here, limit });
                }
                body.extend_from_slice(&chunk);
            }
            return Ok(Fetched {
                final_url: here,
                content_type,
                body,
            });
        }
        Err(FetchError::Redirects {
            url: current.to_string(),
        })
    }

    /// POSTs `body` with exactly these headers (a signed delivery), following
    /// no redirects. The answer's body is read up to the cap and dropped.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Posted, FetchError> {
        let target = url::Url::parse(url).map_err(|_| FetchError::Scheme {
            url: url.to_owned(),
        })?;
        self.check_url(&target)?;
        let mut request = self.client.post(target);
        for (name, value) in headers {
            // reqwest sets Host from the URL, which is what was signed.
            if !name.eq_ignore_ascii_case("host") {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        let mut response = request
            .body(body)
            .send()
            .await
            .map_err(|e| transport(url, e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        let mut read = 0usize;
        while let Ok(Some(chunk)) = response.chunk().await {
            read += chunk.len();
            if read > self.limits.max_bytes {
                break;
            }
        }
        Ok(Posted {
            status,
            retry_after,
        })
    }

    /// Fetches an ActivityStreams object: AS media type required, and its `id`
    /// must equal the final URL (Fedify CVE-2025-54888 class).
    pub async fn fetch_object(&self, url: &str) -> Result<serde_json::Value, FetchError> {
        let fetched = self
            .get(url, "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"")
            .await?;
        if !is_activity_json(&fetched.content_type) {
            return Err(FetchError::ContentType {
                url: fetched.final_url,
                content_type: fetched.content_type,
            });
        }
        let value: serde_json::Value =
            serde_json::from_slice(&fetched.body).map_err(|e| FetchError::Json {
                url: fetched.final_url.clone(),
                message: e.to_string(),
            })?;
        let id = value.get("id").and_then(|v| v.as_str()).unwrap_or_default();
        if id != fetched.final_url {
            return Err(FetchError::IdMismatch {
                url: fetched.final_url,
                id: id.to_owned(),
            });
        }
        if !value.is_object() {
            return Err(FetchError::Json {
                url: fetched.final_url,
                message: "not an object".into(),
            });
        }
        Ok(value)
    }
}

/// Reads a `Retry-After` value (RFC 9110 §10.2.3): delay-seconds or an
/// HTTP-date, as seconds after `now`. Anything else is ignored.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    // A date in the past means "now"; round up so we never retry early.
    Some(match at.duration_since(now) {
        Ok(d) => d.as_secs() + u64::from(d.subsec_nanos() > 0),
        Err(_) => 0,
    })
}

fn transport(url: &str, e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout {
            url: url.to_owned(),
        };
    }
    // Keep the whole chain: the resolver's refusal sits at the bottom.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    if message.contains("resolves to no public address") {
        return FetchError::Forbidden {
            url: url.to_owned(),
        };
    }
    FetchError::Transport {
        url: url.to_owned(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::parse_retry_after;

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("120", now), Some(120));
        assert_eq!(parse_retry_after(" 0 ", now), Some(0));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(parse_retry_after(&later, now), Some(90));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&earlier, now), Some(0));
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
