//! Mastodon entity fixtures: every file under `tests/fixtures/mastodon/` is
//! parsed into its entity and written back, and nothing the original carried
//! may be lost on the way (keys, `null`s, values).

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use starling_protocol::mastodon::{
    Account, Announcement, Application, Context, Conversation, ErrorBody, Filter, InstanceV1,
    InstanceV2, List, Markers, MediaType, Notification, NotificationType, Preferences,
    Relationship, Status, StatusEdit, StatusSource, Tag, Token, Visibility,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mastodon");

/// Collects every difference that means the round trip lost something:
/// a key that disappeared, a `null` that became a value, a changed scalar.
/// Keys the round trip adds are fine (captures from older servers lack
/// newer fields).
fn losses(original: &Value, round_tripped: &Value, path: &str, out: &mut Vec<String>) {
    match (original, round_tripped) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let here = format!("{path}.{key}");
                match b.get(key) {
                    Some(other) => losses(value, other, &here, out),
                    None => out.push(format!("{here}: key lost")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!("{path}: {} items became {}", a.len(), b.len()));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                losses(x, y, &format!("{path}[{i}]"), out);
            }
        }
        (a, b) if a != b => out.push(format!("{path}: {a} became {b}")),
        _ => {}
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(name: &str, original: &Value) -> Vec<String> {
    let parsed: T = match serde_json::from_value(original.clone()) {
        Ok(parsed) => parsed,
        Err(e) => return vec![format!("{name}: does not parse: {e}")],
    };
    let written = serde_json::to_value(&parsed).expect("entities always serialize");
    let mut out = Vec::new();
    losses(original, &written, name, &mut out);
    out
}

/// Picks the entity a fixture holds from its file name.
fn check_fixture(name: &str, json: &Value) -> Vec<String> {
    let kind = name.split(['_', '.']).next().unwrap_or_default();
    match kind {
        "account" => round_trip::<Account>(name, json),
        "status" if name.starts_with("status_history") => round_trip::<Vec<StatusEdit>>(name, json),
        "status" if name.starts_with("status_source") => round_trip::<StatusSource>(name, json),
        "status" => round_trip::<Status>(name, json),
        "context" => round_trip::<Context>(name, json),
        "notification" => round_trip::<Notification>(name, json),
        "conversation" => round_trip::<Conversation>(name, json),
        "relationship" => round_trip::<Relationship>(name, json),
        "application" => round_trip::<Application>(name, json),
        "token" => round_trip::<Token>(name, json),
        "instance" if name.starts_with("instance_v1") => round_trip::<InstanceV1>(name, json),
        "instance" => round_trip::<InstanceV2>(name, json),
        "preferences" => round_trip::<Preferences>(name, json),
        "filter" => round_trip::<Filter>(name, json),
        "markers" => round_trip::<Markers>(name, json),
        "tag" => round_trip::<Tag>(name, json),
        "list" => round_trip::<List>(name, json),
        "announcement" => round_trip::<Announcement>(name, json),
        "error" => round_trip::<ErrorBody>(name, json),
        _ => vec![format!("{name}: no entity mapped to this fixture name")],
    }
}

#[test]
fn every_fixture_round_trips_without_losing_fields() {
    let mut entries: Vec<_> = std::fs::read_dir(Path::new(FIXTURES))
        .expect("fixture directory exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    entries.sort();
    assert!(entries.len() >= 10, "fixtures went missing: {entries:?}");

    let mut problems = Vec::new();
    for path in &entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).expect("readable fixture");
        let json: Value = serde_json::from_str(&text).expect("fixture is valid JSON");
        problems.extend(check_fixture(&name, &json));
    }
    assert!(
        problems.is_empty(),
        "round trip lost data:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_loss_check_notices_a_dropped_key_and_a_nulled_value() {
    let original = json!({"a": null, "b": {"c": 1}, "d": [1, 2]});
    let mut out = Vec::new();
    losses(
        &original,
        &json!({"a": 1, "b": {}, "d": [1]}),
        "$",
        &mut out,
    );
    assert_eq!(out.len(), 3, "{out:?}");

    // An unmapped field of a real entity is caught too.
    let mut account: Value = serde_json::to_value(Account::default()).unwrap();
    account["invented_field"] = json!(true);
    assert_eq!(round_trip::<Account>("account", &account).len(), 1);
}

#[test]
fn a_minimal_status_writes_nullable_fields_as_null() {
    let json = serde_json::to_value(Status::default()).unwrap();
    for key in [
        "reblog",
        "in_reply_to_id",
        "in_reply_to_account_id",
        "card",
        "poll",
        "edited_at",
        "url",
        "language",
    ] {
        assert_eq!(
            json.get(key),
            Some(&Value::Null),
            "{key} must be present and null"
        );
    }
    for key in ["media_attachments", "mentions", "tags", "emojis"] {
        assert_eq!(
            json.get(key),
            Some(&json!([])),
            "{key} must be an empty array"
        );
    }
    // Viewer-specific flags are omitted, not null, for anonymous viewers.
    for key in [
        "favourited",
        "reblogged",
        "muted",
        "bookmarked",
        "pinned",
        "filtered",
        "text",
    ] {
        assert!(json.get(key).is_none(), "{key} must be omitted");
    }
    assert_eq!(json["visibility"], "public");
    assert_eq!(json["account"]["last_status_at"], Value::Null);
    assert_eq!(json["account"]["discoverable"], Value::Null);
    assert!(
        json["account"].get("source").is_none(),
        "source only for the owner"
    );
    assert!(json["account"].get("moved").is_none());
}

#[test]
fn a_boost_nests_the_original_status() {
    let mut boost = Status {
        id: "2".into(),
        reblog: Some(Box::new(Status {
            id: "1".into(),
            favourited: Some(true),
            ..Status::default()
        })),
        ..Status::default()
    };
    boost.account.source = Some(Default::default());
    let json = serde_json::to_value(&boost).unwrap();
    assert_eq!(json["reblog"]["id"], "1");
    assert_eq!(json["reblog"]["favourited"], true);
    assert_eq!(json["reblog"]["reblog"], Value::Null);
    assert_eq!(json["account"]["source"]["privacy"], "public");
}

#[test]
fn sloppy_json_from_other_servers_still_parses() {
    // Nulls where Mastodon documents values, missing keys, and enum values
    // Mastodon does not have.
    let status: Status = serde_json::from_value(json!({
        "id": "9",
        "content": null,
        "spoiler_text": null,
        "visibility": "local",
        "emojis": null,
        "account": {"id": "3", "username": "x", "note": null, "fields": null, "bot": null},
        "media_attachments": [{"id": "1", "type": "document", "url": "https://e.example/f"}]
    }))
    .expect("lenient parse");
    assert_eq!(status.visibility, Visibility::Private);
    assert_eq!(status.spoiler_text, "");
    assert_eq!(status.media_attachments[0].kind, MediaType::Unknown);
    assert!(status.account.fields.is_empty());

    let notification: Notification =
        serde_json::from_value(json!({"id": "1", "type": "emoji_reaction"})).unwrap();
    assert_eq!(notification.kind, NotificationType::Unknown);
    let notification: Notification =
        serde_json::from_value(json!({"id": "1", "type": "admin.sign_up"})).unwrap();
    assert_eq!(notification.kind, NotificationType::AdminSignUp);
}
