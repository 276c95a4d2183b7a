//! A signed-in local user for the benchmarks, made through the services.

use starling_node::app::App;
use starling_node::service::accounts::{NewUser, create_local_user};
use starling_node::service::apps::{issue_token, register_app};
use starling_node::service::oauth::Scopes;
use starling_node::store::accounts::DbUser;

/// Creates `username` and a `read write` access token for it; returns the
/// user, the token and the id of the application it was issued to (more
/// tokens may be seeded for that application).
pub async fn user_with_token(app: &App, username: &str) -> (DbUser, String, i64) {
    let user = create_local_user(
        app,
        NewUser {
            username: username.into(),
            email: format!("{username}@example.com"),
            password: "bench password".into(),
            admin: false,
        },
    )
    .await
    .expect("user");
    let client = register_app(
        app,
        "bench",
        &["urn:ietf:wg:oauth:2.0:oob".to_owned()],
        "read write",
        None,
    )
    .await
    .expect("app");
    let token = issue_token(
        app,
        &client.app,
        Some(user.id),
        Scopes::parse("read write").expect("scopes"),
    )
    .await
    .expect("token")
    .token;
    (user, token, client.app.id)
}
