//! What tests of several Starling nodes talking to each other share: running
//! their queues until deliveries stop crossing, signing as one node's user
//! would, and looking remote accounts and statuses up through the client API.

use std::time::SystemTime;

use reqwest::StatusCode;
use serde_json::Value;
use starling_federation::keys::parse_private_pem;
use starling_federation::signatures::{http_date, sha256_digest_header, sign_request};
use starling_node::store::accounts::DbUser;

use crate::support::{AS_JSON, TestNode};

/// Runs the nodes' queues in turn until none has work (deliveries cross
/// over, and an answer to a delivery is a delivery of its own).
pub async fn settle(nodes: &[&TestNode]) {
    for _ in 0..4 {
        for node in nodes {
            node.drain().await;
        }
    }
}

/// The signing key pair and key id of `user`, a local user of `node`.
pub async fn key_of(node: &TestNode, user: &DbUser) -> (aws_lc_rs::rsa::KeyPair, String) {
    let keys = node
        .app
        .store()
        .account_keys(user.account.id)
        .await
        .unwrap()
        .unwrap();
    let pair = parse_private_pem(keys.private_key_pem.as_deref().unwrap()).unwrap();
    let key_id = format!("{}/users/{}#main-key", node.base, user.account.username);
    (pair, key_id)
}

/// `activity` POSTed to `to`'s shared inbox, signed (draft-cavage, with
/// `Digest`) by `user` of `from` as that user's own server would sign it.
pub async fn post_signed(
    from: &TestNode,
    user: &DbUser,
    to: &TestNode,
    activity: &Value,
) -> StatusCode {
    let (pair, key_id) = key_of(from, user).await;
    let body = activity.to_string();
    let headers = vec![
        ("host".to_owned(), to.domain.clone()),
        ("date".to_owned(), http_date(SystemTime::now())),
        ("digest".to_owned(), sha256_digest_header(body.as_bytes())),
        ("content-type".to_owned(), AS_JSON.to_owned()),
    ];
    let signature = sign_request("POST", "/inbox", &headers, &key_id, &pair).unwrap();
    to.http
        .post(format!("{}/inbox", to.base))
        .header("date", &headers[1].1)
        .header("digest", &headers[2].1)
        .header("content-type", AS_JSON)
        .header("signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

/// `token`'s user on `node` (anonymous when `None`) looks `acct` up,
/// resolving it remotely; the account entity.
pub async fn lookup(node: &TestNode, token: Option<&str>, acct: &str) -> Value {
    let (status, account) = node
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/accounts/lookup?acct={acct}"),
            token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{acct}: {account}");
    account
}

/// Resolves a status by its URL through search on `node`; its local id.
pub async fn resolve_status(node: &TestNode, token: &str, url: &str) -> String {
    let q: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
    let (code, found) = node
        .api_get(&format!("/api/v2/search?q={q}&resolve=true"), token)
        .await;
    assert_eq!(code, StatusCode::OK, "{found}");
    found["statuses"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{url} did not resolve: {found}"))
        .to_owned()
}

/// `token`'s relationship on `node` to account `id`.
pub async fn relationship(node: &TestNode, token: &str, id: &str) -> Value {
    let (_, rels) = node
        .api_get(&format!("/api/v1/accounts/relationships?id[]={id}"), token)
        .await;
    rels[0].clone()
}

/// Like [`post_signed`], and asserts the inbox accepted it, then runs `to`'s
/// queue so the activity has taken effect.
pub async fn send_signed(from: &TestNode, user: &DbUser, to: &TestNode, activity: &Value) {
    let status = post_signed(from, user, to, activity).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{activity}");
    to.drain().await;
}

/// Like [`lookup`]; the account's id on `node`.
pub async fn lookup_id(node: &TestNode, token: Option<&str>, acct: &str) -> String {
    lookup(node, token, acct).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}
