//! The safe fetcher against small hostile servers on loopback.

use std::time::Duration;

use starling_federation::fetch::{FetchError, Fetcher, Limits};
use starling_federation::net::AddressPolicy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves each connection with `respond(request_path, port) -> raw bytes`.
async fn serve(respond: impl Fn(&str, u16) -> Vec<u8> + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let respond = std::sync::Arc::new(respond);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let respond = respond.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let bytes = respond(&path, port);
                let _ = socket.write_all(&bytes).await;
            });
        }
    });
    port
}

fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn dev() -> Fetcher {
    Fetcher::new(Limits::new(AddressPolicy::AllowLoopback), "starling-test").unwrap()
}

#[tokio::test]
async fn non_public_addresses_are_refused_before_connecting() {
    let port = serve(|_, _| {
        response(
            "200 OK",
            &[("Content-Type", "application/activity+json")],
            b"{}",
        )
    })
    .await;
    let strict = Fetcher::new(Limits::new(AddressPolicy::GlobalOnly), "starling-test").unwrap();
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://localhost:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        "http://10.0.0.1/".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        let err = strict.get(&url, "*/*").await.unwrap_err();
        assert!(matches!(err, FetchError::Forbidden { .. }), "{url}: {err}");
    }
    // Dev mode reaches loopback (several nodes on one machine) but not private ranges.
    assert!(
        dev()
            .get(&format!("http://localhost:{port}/"), "*/*")
            .await
            .is_ok()
    );
    let err = dev().get("http://10.1.2.3/", "*/*").await.unwrap_err();
    assert!(matches!(err, FetchError::Forbidden { .. }), "{err}");
    for url in [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://localhost/",
    ] {
        assert!(
            matches!(
                dev().get(url, "*/*").await.unwrap_err(),
                FetchError::Scheme { .. }
            ),
            "{url}"
        );
    }
}

#[tokio::test]
async fn redirects_are_rechecked_and_bounded() {
    let port = serve(|path, port| match path {
        "/to-private" => response("302 Found", &[("Location", "http://10.0.0.1/")], b""),
        "/hop/3" => response(
            "200 OK",
            &[("Content-Type", "application/activity+json")],
            b"{}",
        ),
        p if p.starts_with("/hop/") => {
            let n: u32 = p[5..].parse().unwrap_or(0);
            let next = format!("http://127.0.0.1:{port}/hop/{}", n + 1);
            response("302 Found", &[("Location", &next)], b"")
        }
        "/loop" => response("301 Moved", &[("Location", "/loop")], b""),
        _ => response("404 Not Found", &[], b""),
    })
    .await;
    let err = dev()
        .get(&format!("http://127.0.0.1:{port}/to-private"), "*/*")
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Forbidden { .. }), "{err}");
    // Three redirects are followed…
    let ok = dev()
        .get(&format!("http://127.0.0.1:{port}/hop/0"), "*/*")
        .await
        .unwrap();
    assert!(ok.final_url.ends_with("/hop/3"));
    // …a fourth is not.
    let err = dev()
        .get(&format!("http://127.0.0.1:{port}/loop"), "*/*")
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Redirects { .. }), "{err}");
    let err = dev()
        .get(&format!("http://127.0.0.1:{port}/missing"), "*/*")
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 404, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn bodies_are_capped_and_slow_servers_time_out() {
    let port = serve(|path, _| match path {
        "/big" => response("200 OK", &[], &vec![b'x'; 2 * 1024 * 1024]),
        _ => Vec::new(),
    })
    .await;
    let err = dev()
        .get(&format!("http://127.0.0.1:{port}/big"), "*/*")
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");

    // Headers, then one byte a second: the deadline covers the body too.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                    .await;
                for _ in 0..100 {
                    if socket.write_all(b"x").await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
    });
    let mut limits = Limits::new(AddressPolicy::AllowLoopback);
    limits.timeout = Duration::from_millis(800);
    let fetcher = Fetcher::new(limits, "starling-test").unwrap();
    let started = std::time::Instant::now();
    let err = fetcher
        .get(&format!("http://127.0.0.1:{slow}/"), "*/*")
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn objects_must_be_activitystreams_and_live_at_their_id() {
    let port = serve(|path, port| {
        let id = format!("http://127.0.0.1:{port}{path}");
        match path {
            "/good" => response(
                "200 OK",
                &[("Content-Type", "application/activity+json; charset=utf-8")],
                format!(r#"{{"id":"{id}","type":"Note"}}"#).as_bytes(),
            ),
            "/ld" => response(
                "200 OK",
                &[(
                    "Content-Type",
                    "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
                )],
                format!(r#"{{"id":"{id}"}}"#).as_bytes(),
            ),
            "/html" => response(
                "200 OK",
                &[("Content-Type", "text/html")],
                format!(r#"{{"id":"{id}"}}"#).as_bytes(),
            ),
            "/liar" => response(
                "200 OK",
                &[("Content-Type", "application/activity+json")],
                br#"{"id":"https://victim.example/users/admin"}"#,
            ),
            _ => response(
                "200 OK",
                &[("Content-Type", "application/activity+json")],
                b"not json",
            ),
        }
    })
    .await;
    let base = format!("http://127.0.0.1:{port}");
    let note = dev().fetch_object(&format!("{base}/good")).await.unwrap();
    assert_eq!(note["type"], "Note");
    assert!(dev().fetch_object(&format!("{base}/ld")).await.is_ok());
    let err = dev()
        .fetch_object(&format!("{base}/html"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::ContentType { .. }), "{err}");
    let err = dev()
        .fetch_object(&format!("{base}/liar"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::IdMismatch { .. }), "{err}");
    let err = dev()
        .fetch_object(&format!("{base}/garbage"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Json { .. }), "{err}");
}
