//! OAuth 2 as apps perform it: registration, the password grant, the
//! authorization-code grant through the HTML sign-in page (with PKCE), client
//! credentials, scopes and revocation.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::support::{Db, TestNode};

const REDIRECT: &str = "https://app.example/callback";

/// Registers an app; returns (client_id, client_secret).
async fn register(node: &TestNode, scopes: &str, redirect: &str) -> (String, String) {
    let response = node
        .http
        .post(format!("{}/api/v1/apps", node.base))
        .form(&[
            ("client_name", "Test App"),
            ("redirect_uris", redirect),
            ("scopes", scopes),
            ("website", "https://app.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let app: Value = response.json().await.unwrap();
    assert_eq!(app["name"], "Test App");
    assert_eq!(app["redirect_uri"], redirect);
    assert!(app["id"].is_string());
    (
        app["client_id"].as_str().unwrap().to_owned(),
        app["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn token_request(node: &TestNode, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = node
        .http
        .post(format!("{}/oauth/token", node.base))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn password_token(
    node: &TestNode,
    id: &str,
    secret: &str,
    login: &str,
    password: &str,
    scope: &str,
) -> (StatusCode, Value) {
    token_request(
        node,
        &[
            ("grant_type", "password"),
            ("client_id", id),
            ("client_secret", secret),
            ("username", login),
            ("password", password),
            ("scope", scope),
        ],
    )
    .await
}

db_test!(app_registration_validates_its_input);
async fn app_registration_validates_its_input(db: Db) {
    let node = TestNode::spawn(db).await;
    register(&node, "read write", REDIRECT).await;
    for body in [
        json!({"redirect_uris": REDIRECT}),
        json!({"client_name": "x", "redirect_uris": "javascript:alert(1)"}),
        json!({"client_name": "x", "redirect_uris": REDIRECT, "scopes": "read destroy"}),
        json!({"client_name": "x"}),
    ] {
        let (status, error) = node
            .api(
                reqwest::Method::POST,
                "/api/v1/apps",
                None,
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(error["error"].is_string());
    }
    let (status, meta) = node
        .get_json(
            "/.well-known/oauth-authorization-server",
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meta["token_endpoint"], format!("{}/oauth/token", node.base));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
}

db_test!(password_grant_logs_in_by_email_or_username);
async fn password_grant_logs_in_by_email_or_username(db: Db) {
    let node = TestNode::spawn(db).await;
    node.create_user("alice").await;
    let (id, secret) = register(&node, "read write follow", REDIRECT).await;

    for login in ["alice@example.com", "ALICE@example.com", "alice"] {
        let (status, token) = password_token(
            &node,
            &id,
            &secret,
            login,
            "password-of-alice",
            "read write",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{login}: {token}");
        assert_eq!(token["token_type"], "Bearer");
        assert_eq!(token["scope"], "read write");
        assert!(token["created_at"].is_i64());
        let (status, me) = node
            .api_get(
                "/api/v1/accounts/verify_credentials",
                token["access_token"].as_str().unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["username"], "alice");
    }
    let (status, error) =
        password_token(&node, &id, &secret, "alice", "wrong password", "read").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid_grant");
    let (status, error) = password_token(
        &node,
        &id,
        "wrong-secret",
        "alice",
        "password-of-alice",
        "read",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"], "invalid_client");
    // More than the app registered: refused.
    let (status, error) = password_token(
        &node,
        &id,
        &secret,
        "alice",
        "password-of-alice",
        "admin:write",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid_scope");
}

/// Walks the sign-in page like a browser: GET the form, POST it back.
/// Returns the redirect's Location.
async fn sign_in(
    node: &TestNode,
    query: &[(&str, &str)],
    login: &str,
    password: &str,
) -> reqwest::Response {
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = no_redirects
        .get(format!("{}/oauth/authorize", node.base))
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<form method=\"post\" action=\"/oauth/authorize\">"),
        "{html}"
    );
    assert!(html.contains("Test App"));
    // Submit every hidden field the page carries, as a browser would.
    let mut form: Vec<(String, String)> = html
        .split("<input type=\"hidden\" ")
        .skip(1)
        .map(|chunk| {
            let attr = |name: &str| {
                let start = chunk.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                let end = start + chunk[start..].find('"').unwrap();
                chunk[start..end]
                    .replace("&amp;", "&")
                    .replace("&quot;", "\"")
            };
            (attr("name"), attr("value"))
        })
        .collect();
    form.push(("login".into(), login.into()));
    form.push(("password".into(), password.into()));
    form.push(("decision".into(), "approve".into()));
    no_redirects
        .post(format!("{}/oauth/authorize", node.base))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn code_from(response: &reqwest::Response) -> (String, Option<String>) {
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    let url = url::Url::parse(location).unwrap();
    let get = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    (get("code").expect("code"), get("state"))
}

db_test!(authorization_code_grant_through_the_sign_in_page);
async fn authorization_code_grant_through_the_sign_in_page(db: Db) {
    let node = TestNode::spawn(db).await;
    node.create_user("alice").await;
    let (id, secret) = register(&node, "read write", REDIRECT).await;
    let query = [
        ("response_type", "code"),
        ("client_id", id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "read"),
        ("state", "xyz"),
    ];

    // A wrong password shows the form again, with no code.
    let response = sign_in(&node, &query, "alice", "nope").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Invalid email, username or password."),
        "{html}"
    );
    assert!(
        html.contains("name=\"login\" value=\"alice\""),
        "the login is kept: {html}"
    );
    assert!(
        html.contains("Read everything in your account"),
        "scopes in words: {html}"
    );

    let response = sign_in(&node, &query, "alice@example.com", "password-of-alice").await;
    let (code, state) = code_from(&response);
    assert_eq!(state.as_deref(), Some("xyz"));
    let exchange = [
        ("grant_type", "authorization_code"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let (status, token) = token_request(&node, &exchange).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["scope"], "read");
    let access = token["access_token"].as_str().unwrap().to_owned();
    let (status, _) = node
        .api_get("/api/v1/accounts/verify_credentials", &access)
        .await;
    assert_eq!(status, StatusCode::OK);

    // Codes are single-use.
    let (status, error) = token_request(&node, &exchange).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid_grant");

    // The redirect URI must match exactly at exchange.
    let (code, _) = code_from(&sign_in(&node, &query, "alice", "password-of-alice").await);
    let (status, _) = token_request(
        &node,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("code", &code),
            ("redirect_uri", "https://app.example/other"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // An expired code is refused.
    let (code, _) = code_from(&sign_in(&node, &query, "alice", "password-of-alice").await);
    node.db
        .execute("UPDATE oauth_codes SET expires_at = 0")
        .await;
    let (status, _) = token_request(
        &node,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Never redirect to an unregistered URI, or for an unknown client.
    for bad in [
        vec![
            ("response_type", "code"),
            ("client_id", id.as_str()),
            ("redirect_uri", "https://evil.example/"),
        ],
        vec![
            ("response_type", "code"),
            ("client_id", "nope"),
            ("redirect_uri", REDIRECT),
        ],
    ] {
        let response = node
            .http
            .get(format!("{}/oauth/authorize", node.base))
            .query(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    // The trailing-slash form some apps use also works.
    let response = node
        .http
        .get(format!("{}/oauth/authorize/", node.base))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

db_test!(pkce_is_enforced_when_a_challenge_was_given);
async fn pkce_is_enforced_when_a_challenge_was_given(db: Db) {
    let node = TestNode::spawn(db).await;
    node.create_user("alice").await;
    let (id, secret) = register(&node, "read", REDIRECT).await;
    // RFC 7636 appendix B.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let query = [
        ("response_type", "code"),
        ("client_id", id.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    for wrong in [None, Some("not-the-verifier")] {
        let (code, _) = code_from(&sign_in(&node, &query, "alice", "password-of-alice").await);
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        if let Some(w) = wrong {
            form.push(("code_verifier", w));
        }
        let (status, _) = token_request(&node, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{wrong:?}");
    }
    // The right verifier works, even for a public client without the secret.
    let (code, _) = code_from(&sign_in(&node, &query, "alice", "password-of-alice").await);
    let (status, token) = token_request(
        &node,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &id),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    // The plain method is not accepted.
    let mut plain = query.to_vec();
    plain[4] = ("code_challenge_method", "plain");
    let response = node
        .http
        .get(format!("{}/oauth/authorize", node.base))
        .query(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

db_test!(out_of_band_codes_are_shown_on_a_page);
async fn out_of_band_codes_are_shown_on_a_page(db: Db) {
    let node = TestNode::spawn(db).await;
    node.create_user("alice").await;
    let oob = "urn:ietf:wg:oauth:2.0:oob";
    let (id, secret) = register(&node, "read write", oob).await;
    let query = [
        ("response_type", "code"),
        ("client_id", id.as_str()),
        ("redirect_uri", oob),
        ("scope", "read write"),
    ];
    let response = sign_in(&node, &query, "alice", "password-of-alice").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let start = html.find("<code id=\"code\"").unwrap();
    let code = &html[html[start..].find('>').unwrap() + start + 1..];
    let code = &code[..code.find('<').unwrap()];
    let (status, token) = token_request(
        &node,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("code", code),
            ("redirect_uri", oob),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{token}");
}

db_test!(scopes_and_revocation_are_enforced);
async fn scopes_and_revocation_are_enforced(db: Db) {
    let node = TestNode::spawn(db).await;
    node.create_user("alice").await;
    let (id, secret) = register(&node, "read write follow", REDIRECT).await;

    let (_, token) =
        password_token(&node, &id, &secret, "alice", "password-of-alice", "read").await;
    let read_only = token["access_token"].as_str().unwrap().to_owned();
    let (status, body) = node
        .api_post("/api/v1/statuses", &read_only, json!({"status": "hi"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = node
        .api(
            reqwest::Method::POST,
            "/api/v1/statuses",
            None,
            Some(json!({"status": "hi"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = node
        .api_post("/api/v1/statuses", "made-up-token", json!({"status": "hi"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Granular scopes: write:statuses may post but not favourite.
    let (_, token) = password_token(
        &node,
        &id,
        &secret,
        "alice",
        "password-of-alice",
        "write:statuses read:statuses",
    )
    .await;
    let granular = token["access_token"].as_str().unwrap().to_owned();
    let (status, post) = node
        .api_post("/api/v1/statuses", &granular, json!({"status": "hello"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{post}");
    let path = format!(
        "/api/v1/statuses/{}/favourite",
        post["id"].as_str().unwrap()
    );
    let (status, _) = node.api_post(&path, &granular, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // App-only tokens identify the app, not a user.
    let (status, token) = token_request(
        &node,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let app_token = token["access_token"].as_str().unwrap().to_owned();
    let (status, app) = node
        .api_get("/api/v1/apps/verify_credentials", &app_token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app["name"], "Test App");
    assert!(app.get("client_secret").is_none(), "secrets are shown once");
    let (status, _) = node
        .api_get("/api/v1/accounts/verify_credentials", &app_token)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Revoked tokens stop working at once.
    let response = node
        .http
        .post(format!("{}/oauth/revoke", node.base))
        .form(&[
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
            ("token", read_only.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = node
        .api_get("/api/v1/accounts/verify_credentials", &read_only)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Revokes `token` through `POST /oauth/revoke`.
async fn revoke(node: &TestNode, client: (&str, &str), token: &str) {
    let response = node
        .http
        .post(format!("{}/oauth/revoke", node.base))
        .form(&[
            ("client_id", client.0),
            ("client_secret", client.1),
            ("token", token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

db_test!(a_revoked_token_is_refused_at_once_by_every_process);
async fn a_revoked_token_is_refused_at_once_by_every_process(db: Db) {
    // The home timeline takes tokens it has seen from memory and confirms
    // them in the statement that reads the page: revoking through one
    // process must still refuse the token on the very next request to any.
    let a = TestNode::spawn(db).await;
    let domain = a.domain.clone();
    let b = TestNode::spawn_with(a.db.clone(), |c| c.domain = domain).await;
    a.create_user("alice").await;
    a.create_user("bob").await;
    let (id, secret) = register(&a, "read write follow", REDIRECT).await;
    let mut tokens = Vec::new();
    // bob follows nobody and posts nothing: his home is empty.
    for (user, scope) in [("bob", "read"), ("alice", "read"), ("alice", "write")] {
        let password = format!("password-of-{user}");
        let (_, token) = password_token(&a, &id, &secret, user, &password, scope).await;
        tokens.push(token["access_token"].as_str().unwrap().to_owned());
    }
    let (empty, full, write_only) = (&tokens[0], &tokens[1], &tokens[2]);
    let (status, _) = a
        .api_post("/api/v1/statuses", write_only, json!({"status": "hi"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    a.drain().await;

    // Both processes have seen every token (a home page each, or a 403 for
    // the one without `read`).
    for node in [&a, &b] {
        for token in [empty, full] {
            let (status, _) = node.api_get("/api/v1/timelines/home", token).await;
            assert_eq!(status, StatusCode::OK);
        }
        let (status, _) = node.api_get("/api/v1/timelines/home", write_only).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (_, page) = a.api_get("/api/v1/timelines/home", full).await;
    assert_eq!(page.as_array().map(Vec::len), Some(1), "{page}");
    let (_, page) = b.api_get("/api/v1/timelines/home", empty).await;
    assert_eq!(page, json!([]));

    // The page read confirms the token: a non-empty page on the other
    // process, the empty-page path, and the scope refusal all give 401.
    revoke(&a, (&id, &secret), full).await;
    revoke(&a, (&id, &secret), write_only).await;
    for node in [&b, &a] {
        let (status, body) = node.api_get("/api/v1/timelines/home", full).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        let (status, _) = node.api_get("/api/v1/timelines/home", write_only).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // bob's token still works on both; revoked through b, the empty page
    // confirms it as the full one did.
    for node in [&b, &a] {
        let (status, _) = node.api_get("/api/v1/timelines/home", empty).await;
        assert_eq!(status, StatusCode::OK);
    }
    revoke(&b, (&id, &secret), empty).await;
    for node in [&a, &b] {
        let (status, _) = node.api_get("/api/v1/timelines/home", empty).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}
