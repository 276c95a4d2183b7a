//! Boosts on streams: deleting a status takes the boosts of it off the
//! streams that showed them, under the boosts' own ids.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::clients::Ws;
use super::{follow, post};
use crate::db_test;
use crate::support::{Db, TestNode};

db_test!(deleting_a_status_deletes_its_boosts_from_streams);
async fn deleting_a_status_deletes_its_boosts_from_streams(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice_token) = node.user_with_token("alice").await;
    let (bob, bob_token) = node.user_with_token("bob").await;
    let (_, carol_token) = node.user_with_token("carol").await;
    // Carol follows the booster only: she sees alice's post as bob's boost.
    follow(&node, &carol_token, bob.account.id).await;
    let mut ws = Ws::connect(&node, &format!("access_token={carol_token}&stream=user")).await;

    let posted = post(&node, &alice_token, json!({"status": "boost me"})).await;
    let id = posted["id"].as_str().unwrap();
    let (status, boost) = node
        .api_post(
            &format!("/api/v1/statuses/{id}/reblog"),
            &bob_token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{boost}");
    node.drain().await;
    let frame = ws.next().await;
    assert_eq!(frame["event"], "update");
    assert_eq!(frame["payload"]["id"], boost["id"]);
    assert_eq!(frame["payload"]["reblog"]["id"], posted["id"]);

    let (status, _) = node
        .api(
            Method::DELETE,
            &format!("/api/v1/statuses/{id}"),
            Some(&alice_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    node.drain().await;
    let frame = ws.next().await;
    assert_eq!(frame["event"], "delete");
    assert_eq!(
        frame["payload"], boost["id"],
        "the boost carol was shown is taken off her stream"
    );
}
