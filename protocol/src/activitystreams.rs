//! ActivityStreams 2.0 / ActivityPub documents.
//!
//! Outgoing documents are typed structs. The `@context` we publish names only
//! contexts that Mastodon and Fedify carry preloaded (ActivityStreams and
//! security/v1) and defines every extension term inline, so no receiver has to
//! fetch a context document to understand us.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The ActivityStreams namespace.
pub const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
/// The security vocabulary (publicKey, publicKeyPem).
pub const SECURITY_CONTEXT: &str = "https://w3id.org/security/v1";
/// The special collection meaning "everyone".
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The `@context` of actor documents: ActivityStreams, security/v1, and the
/// Mastodon extension terms defined inline.
pub fn actor_context() -> Value {
    json!([
        AS_CONTEXT,
        SECURITY_CONTEXT,
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "featured": { "@id": "toot:featured", "@type": "@id" },
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value"
        }
    ])
}

/// An actor document (`Person`, `Service`, `Application`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// JSON-LD context; see [`actor_context`].
    #[serde(rename = "@context")]
    pub context: Value,
    /// The actor's id (its URL).
    pub id: String,
    /// `Person`, `Service`, `Application`, `Group` or `Organization`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The username.
    pub preferred_username: String,
    /// Display name (plain text).
    pub name: String,
    /// Bio, as HTML.
    pub summary: String,
    /// The human-readable profile page.
    pub url: String,
    /// When the account was created, ISO 8601.
    pub published: String,
    /// Personal inbox.
    pub inbox: String,
    /// Outbox collection.
    pub outbox: String,
    /// Followers collection.
    pub followers: String,
    /// Following collection.
    pub following: String,
    /// Pinned posts collection (Mastodon extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub featured: Option<String>,
    /// Extra endpoints, notably the shared inbox.
    pub endpoints: Endpoints,
    /// Whether follows need approval.
    pub manually_approves_followers: bool,
    /// Whether the account may be suggested and listed in directories.
    pub discoverable: bool,
    /// Whether public posts may be indexed for search.
    pub indexable: bool,
    /// The key that signs this actor's requests.
    pub public_key: PublicKey,
    /// Avatar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<Image>,
    /// Header image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// Profile fields, as Mastodon's `PropertyValue`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment: Vec<PropertyValue>,
}

/// A profile field (`schema:PropertyValue`, as Mastodon writes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyValue {
    /// Always `PropertyValue`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The label, plain text.
    pub name: String,
    /// The value, HTML.
    pub value: String,
}

/// The `endpoints` object of an [`Actor`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    /// The instance-wide inbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_inbox: Option<String>,
}

/// A `publicKey` block (security/v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    /// Key id, `{actor}#main-key`.
    pub id: String,
    /// The actor that owns the key.
    pub owner: String,
    /// SubjectPublicKeyInfo PEM.
    pub public_key_pem: String,
}

/// An `Image` (avatar or header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// Always `Image`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The media type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Where the image is.
    pub url: String,
}

/// An `OrderedCollection` (outbox, followers, following, featured).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollection {
    /// JSON-LD context.
    #[serde(rename = "@context")]
    pub context: Value,
    /// The collection's id.
    pub id: String,
    /// Always `OrderedCollection`.
    #[serde(rename = "type")]
    pub kind: String,
    /// How many items the collection has in all.
    pub total_items: i64,
    /// The first page, when items are paged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// The last (oldest) page, when items are paged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// Inline items, for small collections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered_items: Option<Vec<Value>>,
}

impl OrderedCollection {
    /// A collection that lists its items inline (possibly none).
    pub fn inline(id: String, items: Vec<Value>) -> Self {
        OrderedCollection {
            context: json!(AS_CONTEXT),
            id,
            kind: "OrderedCollection".into(),
            total_items: items.len() as i64,
            first: None,
            last: None,
            ordered_items: Some(items),
        }
    }

    /// A collection that reports only its size (items come with paging).
    pub fn counted(id: String, total_items: i64) -> Self {
        OrderedCollection {
            context: json!(AS_CONTEXT),
            id,
            kind: "OrderedCollection".into(),
            total_items,
            first: None,
            last: None,
            ordered_items: None,
        }
    }

    /// A paged collection: its size and links to its first (newest) and
    /// last (oldest) pages.
    pub fn paged(id: String, total_items: i64, first: String, last: String) -> Self {
        OrderedCollection {
            first: Some(first),
            last: Some(last),
            ..Self::counted(id, total_items)
        }
    }
}

/// One page of an [`OrderedCollection`], newest first, as Mastodon pages
/// outboxes and follower lists (`?page=true`, `&max_id=`, `&min_id=`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollectionPage {
    /// JSON-LD context.
    #[serde(rename = "@context")]
    pub context: Value,
    /// This page's URL.
    pub id: String,
    /// Always `OrderedCollectionPage`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The collection this page belongs to.
    pub part_of: String,
    /// The next (older) page, if there may be one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// The previous (newer) page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    /// The items: ids, or embedded activities.
    pub ordered_items: Vec<Value>,
}

impl OrderedCollectionPage {
    /// A page of `part_of` holding `items`.
    pub fn new(
        id: String,
        part_of: String,
        items: Vec<Value>,
        next: Option<String>,
        prev: Option<String>,
    ) -> Self {
        OrderedCollectionPage {
            context: json!(AS_CONTEXT),
            id,
            kind: "OrderedCollectionPage".into(),
            part_of,
            next,
            prev,
            ordered_items: items,
        }
    }
}
