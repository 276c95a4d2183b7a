//! Remote actors' keys, fetched through the safe fetcher when a signature
//! names one we do not know (or one that no longer verifies: key rotation).

use std::hash::BuildHasher;
use std::sync::Arc;

use serde_json::Value;
use starling_federation::keys::PublicKey;

use crate::app::App;
use crate::cache::GenCache;
use crate::error::Internal;
use crate::store::now_ms;
use crate::store::remote::{KnownKey, RemoteActor};

/// A stored key is refetched at most this often, so a flood of badly signed
/// requests cannot turn into a flood of fetches.
const REFETCH_AFTER_MS: i64 = 60_000;

/// Why a key could not be had; the inbox answers 401 to all of them.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Fetching the key or its actor failed.
    #[error(transparent)]
    Fetch(#[from] starling_federation::fetch::FetchError),
    /// The documents do not tie the key to its actor.
    #[error("{key_id}: {reason}")]
    Invalid {
        /// The key id.
        key_id: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The actor deleted itself; its activities are no longer taken.
    #[error("{uri}: the actor was deleted")]
    Deleted {
        /// The actor.
        uri: String,
    },
    /// Our fault.
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl KeyError {
    /// Whether the key's actor is gone (deleted itself, or its server
    /// answers 404 or 410 for it): what a server sends on behalf of
    /// accounts it removed, the `Delete`s of a spam clean-up, not forgery.
    pub fn actor_gone(&self) -> bool {
        use starling_federation::fetch::FetchError;
        matches!(
            self,
            KeyError::Deleted { .. }
                | KeyError::Fetch(FetchError::Status {
                    status: 404 | 410,
                    ..
                })
        )
    }
}

/// Keys this process verified signatures with, by key id, so the inbox need
/// not read `account_keys` per request, and parsed, so that verifying with a
/// remembered key decodes nothing. A remembered key is never trusted alone:
/// the commit of what it verified checks, in the same transaction, that the
/// stored key is still this one (`store::inbox_batch`), so a key replaced or
/// removed by any process is not honoured again.
pub struct KeyMemory {
    /// Seeds the hash of key ids (they come from the network).
    hasher: std::hash::RandomState,
    /// Key id and key, by the key id's hash.
    keys: GenCache<u64, (Arc<str>, Arc<RememberedKey>)>,
}

/// A key as remembered: as stored, and parsed.
#[derive(Debug)]
pub struct RememberedKey {
    /// The key as the store holds it (owner and PEM).
    pub key: Arc<KnownKey>,
    /// `key.public_key_pem`, parsed.
    pub parsed: PublicKey,
}

impl RememberedKey {
    /// Parses `key`, reusing `known`'s parse when it holds the same PEM.
    /// None when the PEM is not an RSA public key.
    pub fn parse(key: KnownKey, known: Option<&RememberedKey>) -> Option<RememberedKey> {
        let parsed = match known {
            Some(k) if k.key.public_key_pem == key.public_key_pem => k.parsed.clone(),
            _ => PublicKey::from_pem(&key.public_key_pem)?,
        };
        Some(RememberedKey {
            key: Arc::new(key),
            parsed,
        })
    }
}

impl Default for KeyMemory {
    fn default() -> Self {
        KeyMemory {
            hasher: Default::default(),
            keys: GenCache::new(5_000),
        }
    }
}

impl KeyMemory {
    /// The key last seen under `key_id`, if remembered.
    pub fn get(&self, key_id: &str) -> Option<Arc<RememberedKey>> {
        let (id, key) = self.keys.get(&self.hasher.hash_one(key_id))?;
        (*id == *key_id).then_some(key)
    }

    /// Remembers `key` under `key_id`.
    pub fn insert(&self, key_id: &str, key: Arc<RememberedKey>) {
        self.keys
            .insert(self.hasher.hash_one(key_id), (key_id.into(), key));
    }
}

/// The key `key_id` names: stored, or fetched and stored. With `refresh`,
/// refetch a stored key unless it was fetched within the last minute.
pub async fn key_for(app: &App, key_id: &str, refresh: bool) -> Result<KnownKey, KeyError> {
    let known = app
        .store()
        .key_by_id(key_id)
        .await
        .map_err(Internal::from)?;
    if let Some(known) = known
        && (!refresh || now_ms() - known.fetched_at < REFETCH_AFTER_MS)
    {
        return Ok(known);
    }
    let actor = fetch_actor_for_key(app, key_id).await?;
    refuse_deleted(app, &actor.uri).await?;
    app.store()
        .upsert_remote_actor(app.ids().next(), &actor)
        .await
        .map_err(Internal::from)?;
    Ok(KnownKey {
        owner_uri: actor.uri,
        public_key_pem: actor.public_key_pem,
        fetched_at: now_ms(),
    })
}

fn invalid(key_id: &str, reason: &'static str) -> KeyError {
    KeyError::Invalid {
        key_id: key_id.to_owned(),
        reason,
    }
}

/// Fetches the actor owning `key_id` and checks that it lists that key.
async fn fetch_actor_for_key(app: &App, key_id: &str) -> Result<RemoteActor, KeyError> {
    let without_fragment = key_id.split('#').next().unwrap_or(key_id);
    let mut doc = app.fetcher().fetch_object(without_fragment).await?;
    // Some servers give keys their own documents: follow `owner` to the actor.
    if doc.get("publicKeyPem").is_some() {
        let owner = doc
            .get("owner")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(key_id, "key without owner"))?;
        doc = app.fetcher().fetch_object(owner).await?;
    }
    actor_from_document(&doc, Some(key_id))
}

/// Fetches an actor by its id and stores it (with its main key).
pub async fn resolve_actor(app: &App, uri: &str) -> Result<i64, KeyError> {
    refresh_actor(app, uri, None).await
}

/// Stores the actor `uri` from `document` when given (the caller vouches
/// that it comes from the actor's origin; it must carry the same id), else
/// fetched from `uri`. Returns the account id.
pub async fn refresh_actor(
    app: &App,
    uri: &str,
    document: Option<&Value>,
) -> Result<i64, KeyError> {
    refuse_deleted(app, uri).await?;
    let fetched;
    let doc = match document {
        Some(doc) if doc["id"].as_str() == Some(uri) => doc,
        _ => {
            fetched = app.fetcher().fetch_object(uri).await?;
            &fetched
        }
    };
    let actor = actor_from_document(doc, None)?;
    if actor.uri != uri {
        return Err(invalid(uri, "the document is another actor"));
    }
    Ok(app
        .store()
        .upsert_remote_actor(app.ids().next(), &actor)
        .await
        .map_err(Internal::from)?)
}

/// An actor that deleted itself stays deleted, whatever its server serves.
async fn refuse_deleted(app: &App, uri: &str) -> Result<(), KeyError> {
    if app
        .store()
        .deleted_itself(uri)
        .await
        .map_err(Internal::from)?
    {
        return Err(KeyError::Deleted {
            uri: uri.to_owned(),
        });
    }
    Ok(())
}

/// Resolves `user@domain` with WebFinger, then fetches and stores the actor.
/// Returns the account id.
pub async fn resolve_acct(app: &App, user: &str, domain: &str) -> Result<i64, KeyError> {
    let scheme = if app.config().dev { "http" } else { "https" };
    let resource = format!("acct:{user}@{domain}");
    let url = format!(
        "{scheme}://{domain}/.well-known/webfinger?resource={}",
        url::form_urlencoded::byte_serialize(resource.as_bytes()).collect::<String>()
    );
    let fetched = app
        .fetcher()
        .get(&url, "application/jrd+json, application/json")
        .await?;
    let jrd: starling_protocol::webfinger::Jrd = serde_json::from_slice(&fetched.body)
        .map_err(|_| invalid(&url, "not a WebFinger document"))?;
    let actor = jrd
        .actor_url()
        .ok_or_else(|| invalid(&url, "no ActivityPub self link"))?;
    resolve_actor(app, actor).await
}

/// Reads an actor document. `key_id` names the key that must be listed, or
/// None for its first (main) key.
fn actor_from_document(doc: &Value, wanted_key: Option<&str>) -> Result<RemoteActor, KeyError> {
    let label = wanted_key
        .or_else(|| doc["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let uri = doc["id"]
        .as_str()
        .ok_or_else(|| invalid(&label, "actor without id"))?
        .to_owned();
    let keys: Vec<&Value> = match &doc["publicKey"] {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&doc["publicKey"]],
        _ => Vec::new(),
    };
    let key = keys
        .into_iter()
        .find(|k| wanted_key.is_none_or(|w| k["id"].as_str() == Some(w)))
        .ok_or_else(|| invalid(&label, "the actor does not list this key"))?;
    let key_id = key["id"]
        .as_str()
        .ok_or_else(|| invalid(&label, "key without id"))?;
    if key["owner"].as_str() != Some(uri.as_str()) {
        return Err(invalid(key_id, "the key's owner is not the actor"));
    }
    // A key id on another origin could take over (or evict) another
    // server's key in `account_keys`.
    if crate::urls::origin_of(key_id) != crate::urls::origin_of(&uri) {
        return Err(invalid(key_id, "the key is not on the actor's origin"));
    }
    let pem = key["publicKeyPem"]
        .as_str()
        .ok_or_else(|| invalid(key_id, "key without publicKeyPem"))?;
    let parsed = url::Url::parse(&uri).map_err(|_| invalid(key_id, "actor id is not a URL"))?;
    let domain =
        crate::urls::authority(&parsed).ok_or_else(|| invalid(key_id, "actor id has no host"))?;
    let text = |k: &str| {
        doc.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let inbox = text("inbox");
    if inbox.is_empty() {
        return Err(invalid(key_id, "actor without inbox"));
    }
    let username = text("preferredUsername");
    if username.is_empty() {
        return Err(invalid(key_id, "actor without preferredUsername"));
    }
    Ok(RemoteActor {
        uri,
        username,
        domain,
        display_name: crate::service::filters::plain_text(&text("name"))
            .trim()
            .to_owned(),
        note: crate::service::sanitize::remote_html(&text("summary")),
        avatar_url: image_url(&doc["icon"]),
        header_url: image_url(&doc["image"]),
        fields: profile_fields(&doc["attachment"]),
        inbox_url: inbox,
        shared_inbox_url: doc["endpoints"]["sharedInbox"].as_str().map(str::to_owned),
        url: page_url(&doc["url"]),
        actor_type: doc
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("Person")
            .to_owned(),
        locked: doc["manuallyApprovesFollowers"].as_bool().unwrap_or(false),
        key_id: key_id.to_owned(),
        public_key_pem: pem.to_owned(),
    })
}

/// The URL of an `icon`/`image`: an `Image` object, a list of them (first
/// wins) or a bare URL. Only http(s) URLs are kept.
fn image_url(value: &Value) -> Option<String> {
    let url = match value {
        Value::Array(items) => return items.first().and_then(image_url),
        Value::String(url) => url.as_str(),
        Value::Object(_) => match &value["url"] {
            Value::String(url) => url.as_str(),
            other => return image_url(other),
        },
        _ => return None,
    };
    url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.to_string())
}

/// The profile page an actor's `url` names: a bare URL, a `Link` (its
/// `href`) or a list of either (the first usable wins). Only http(s) URLs are
/// kept: clients put this in a link.
fn page_url(value: &Value) -> Option<String> {
    match value {
        Value::Array(items) => items.iter().find_map(page_url),
        Value::Object(_) => page_url(&value["href"]),
        Value::String(url) => url::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(|u| u.to_string()),
        _ => None,
    }
}

/// Mastodon's profile fields (`PropertyValue` attachments), at most 16, as
/// the JSON the `fields` column holds: names as plain text, values through
/// the sanitiser.
fn profile_fields(attachment: &Value) -> String {
    let items: Vec<&Value> = match attachment {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![attachment],
        _ => Vec::new(),
    };
    let fields: Vec<Value> = items
        .into_iter()
        .filter(|item| item["type"] == "PropertyValue")
        .take(16)
        .map(|item| {
            let name =
                crate::service::filters::plain_text(item["name"].as_str().unwrap_or_default());
            let value =
                crate::service::sanitize::remote_html(item["value"].as_str().unwrap_or_default());
            serde_json::json!({ "name": name.trim(), "value": value, "verified_at": null })
        })
        .collect();
    Value::Array(fields).to_string()
}
