//! Abuse: clients that send too slowly or not at all, bodies that are not
//! UTF-8 or nest without end, and a storm of sign-in attempts. Each gets a
//! clear refusal (or its connection closed), nothing is written, and other
//! users are served meanwhile.

use crate::helpers::{PASSWORD, browser_like_client, spawn_app, spawn_app_configured};
use crate::security::behind_proxy;
use dripfeed::api::auth::{LogIn, SignUp, Whoami};
use dripfeed::api::plans::CreatePlan;
use dripfeed::error::AppError;
use leptos::server_fn::ServerFn;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; `false` if it is still
/// open after `patience`.
async fn closed_by_server(stream: &mut TcpStream, patience: Duration) -> bool {
    let mut sink = [0u8; 1024];
    tokio::time::timeout(patience, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn slow_and_silent_clients_are_disconnected_while_others_are_served() {
    let app = spawn_app_configured(true, |s| s.header_timeout_secs = 1).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    // Half open a connection and say nothing; half trickle a request head
    // one byte at a time, never finishing it (slow-loris).
    let mut silent = Vec::new();
    for _ in 0..10 {
        silent.push(TcpStream::connect(&address).await.expect("connect"));
    }
    let mut trickling = Vec::new();
    for _ in 0..10 {
        let stream = TcpStream::connect(&address).await.expect("connect");
        let (mut read, mut write) = stream.into_split();
        let writer = tokio::spawn(async move {
            let _ = write
                .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ")
                .await;
            while write.write_all(b"a").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        trickling.push((
            tokio::spawn(async move {
                let mut sink = [0u8; 1024];
                loop {
                    match read.read(&mut sink).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            }),
            writer,
        ));
    }

    // Everyone else is served meanwhile.
    let me = app.call_server_fn(Whoami::PATH, &[]).await;
    assert_eq!(me.status().as_u16(), 200);
    assert_eq!(app.get("/").await.status().as_u16(), 200);

    // Every one of them is let go: the server closes the connection once
    // the head has not arrived in time (generously waited for here; without
    // a header timeout they stay open for ever).
    for stream in &mut silent {
        assert!(
            closed_by_server(stream, Duration::from_secs(20)).await,
            "a connection that sent nothing was kept open"
        );
    }
    for (reader, writer) in trickling {
        let closed = tokio::time::timeout(Duration::from_secs(20), reader).await;
        writer.abort();
        assert!(
            closed.is_ok(),
            "a connection trickling its request head was kept open"
        );
    }
    assert_eq!(
        app.call_server_fn(Whoami::PATH, &[])
            .await
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn a_request_head_sent_in_time_is_answered_on_a_kept_alive_connection() {
    let app = spawn_app_configured(true, |s| s.header_timeout_secs = 1).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.expect("connect");
    for _ in 0..2 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .expect("sent");
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&answer).contains("\r\n\r\n") {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before answering");
            answer.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        let length: usize = text
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(str::to_owned)
            })
            .and_then(|l| l.trim().parse().ok())
            .expect("a content length");
        let head = text.find("\r\n\r\n").expect("head") + 4;
        let mut body = answer.len() - head;
        while body < length {
            body += stream.read(&mut buf).await.expect("read");
        }
    }
}

#[tokio::test]
async fn bodies_that_are_not_utf8_or_nest_without_end_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("ann@example.com").await;
    let users = app.count("SELECT COUNT(*) FROM users").await;

    // A form whose fields are not UTF-8, raw or percent-encoded.
    for body in [
        b"email=\xff\xfe%40b.co&password=violet+tractor+harbour+42&accept_terms=on".to_vec(),
        b"email=%FF%FE%40b.co&password=violet+tractor+harbour+42&accept_terms=on".to_vec(),
    ] {
        let visitor = browser_like_client(&app.address);
        let response = visitor
            .post(app.url(SignUp::PATH))
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        assert!(matches!(status, 400 | 422), "{status}: {text}");
        let error: AppError = serde_json::from_str(&text).expect("an AppError");
        assert!(!matches!(error, AppError::Internal { .. }), "{error:?}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, users);

    // JSON that is not UTF-8, and JSON nested far past any real input, to a
    // server function and to the REST API.
    let deep_array = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!("{}1{}", r#"{"input":"#.repeat(50_000), "}".repeat(50_000));
    let bad_utf8 = b"{\"input\":{\"name\":\"\xff\xfe\"}}".to_vec();
    for body in [
        deep_array.clone().into_bytes(),
        deep_object.into_bytes(),
        bad_utf8,
    ] {
        let response = client
            .post(app.url(CreatePlan::PATH))
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        assert!(matches!(status, 400 | 413 | 422), "{status}: {text}");

        let token = app
            .api_token(&client, "trade", "")
            .await
            .expect("token")
            .token;
        let response = reqwest::Client::new()
            .post(app.url("/api/v1/plans"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        let value: serde_json::Value = response.json().await.expect("a JSON error");
        assert!(matches!(status, 400 | 413 | 422), "{status}: {value}");
        assert!(
            value["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{value}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM plans").await, 0);
    // The account still works.
    let plans = app.list_plans(&client).await;
    assert!(plans.is_empty());
    let _ = connection;
}

#[tokio::test]
async fn a_storm_of_sign_in_attempts_is_answered_and_others_are_still_served() {
    // Behind a proxy, so the storm and Bob come from different addresses.
    let app = spawn_app_configured(true, |s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    })
    .await;
    app.sign_up(&behind_proxy(&app, "198.51.100.1"), "ann@example.com")
        .await
        .expect("ann");
    let bob = behind_proxy(&app, "198.51.100.7");
    app.sign_up(&bob, "bob@example.com").await.expect("bob");

    // 200 guesses at once at Ann's password, from 20 addresses.
    let attempts: Vec<_> = (0..200)
        .map(|i| {
            let client = behind_proxy(&app, &format!("203.0.113.{}", i % 20 + 1));
            let url = app.url(LogIn::PATH);
            tokio::spawn(async move {
                let password = format!("wrong guess {i}");
                let response = client
                    .post(url)
                    .header("accept", "application/json")
                    .form(&[
                        ("email", "ann@example.com"),
                        ("password", password.as_str()),
                    ])
                    .send()
                    .await
                    .expect("answered");
                let status = response.status().as_u16();
                let body = response.text().await.expect("body");
                let error: AppError = serde_json::from_str(&body)
                    .unwrap_or_else(|e| panic!("{status}: not an AppError ({e}): {body}"));
                (status, error)
            })
        })
        .collect();
    // Bob is served while they run.
    for _ in 0..5 {
        let me = app.whoami(&bob).await.expect("bob is still signed in");
        assert_eq!(me.email, "bob@example.com");
    }
    let mut limited = 0;
    for attempt in attempts {
        let (status, error) = attempt.await.expect("attempt");
        match (status, &error) {
            (422, AppError::Invalid(_)) => {}
            (429, AppError::TooManyRequests { retry_after_secs }) => {
                assert!(*retry_after_secs > 0);
                limited += 1;
            }
            other => panic!("a sign-in attempt got {other:?}"),
        }
    }
    assert!(limited > 0, "200 guesses at once were never slowed down");
    // Nobody got in as Ann: her only session is the one she signed up in.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE u.email = 'ann@example.com'"
        )
        .await,
        1
    );
    // Bob, from his own address, still signs in on a new device.
    app.log_in(
        &behind_proxy(&app, "198.51.100.7"),
        "bob@example.com",
        PASSWORD,
    )
    .await
    .expect("bob signs in");
}
