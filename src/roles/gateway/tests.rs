use super::*;

fn upstreams() -> Upstreams {
    Upstreams {
        commands: vec!["http://c1".into(), "http://c2".into()],
        queries: "http://q".into(),
        live: "http://n".into(),
        identity: Some("http://idp".into()),
        projector: Some("http://p".into()),
    }
}

#[test]
fn each_path_goes_to_the_role_that_serves_it() {
    let u = upstreams();
    for (path, target) in [
        ("/graphql/ws", Target::Live),
        ("/graphql", Target::Queries),
        ("/graphiql", Target::Queries),
        ("/auth/dev-users", Target::Identity),
        ("/.well-known/jwks.json", Target::Identity),
        ("/api/projections", Target::Projector),
        ("/api/approvals", Target::Commands),
        ("/api", Target::Commands),
        ("/openapi.json", Target::Commands),
        ("/docs", Target::Commands),
        ("/", Target::App),
        ("/documents/123", Target::App),
        ("/apix", Target::App),
        ("/graphqlx", Target::App),
    ] {
        assert_eq!(Target::of(path, &u), target, "{path}");
    }
}

#[test]
fn without_an_identity_provider_sign_in_goes_to_the_command_api() {
    let u = Upstreams {
        identity: None,
        projector: None,
        ..upstreams()
    };
    assert_eq!(Target::of("/auth/dev-login", &u), Target::Commands);
    assert_eq!(Target::of("/api/projections", &u), Target::Commands);
}

/// A loopback server for `router`, and its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://127.0.0.1:{port}")
}

/// An address nothing listens on.
async fn closed() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// An upstream that says who it is and echoes what it was sent.
fn named(name: &'static str) -> axum::Router {
    axum::Router::new().fallback(move |request: Request| async move {
        let auth = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        let path = request.uri().to_string();
        let body = axum::body::to_bytes(request.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        (
            [(HeaderName::from_static("x-erp-position"), "7")],
            format!("{name} {path} {auth} {}", String::from_utf8_lossy(&body)),
        )
    })
}

async fn gateway(upstreams: Upstreams, timeout: Duration) -> String {
    serve(router(upstreams, timeout).expect("router")).await
}

#[tokio::test]
async fn a_command_reaches_a_running_instance_when_another_is_down() {
    let up = serve(named("c2")).await;
    let url = gateway(
        Upstreams {
            commands: vec![closed().await, up],
            queries: serve(named("q")).await,
            live: closed().await,
            identity: None,
            projector: None,
        },
        Duration::from_secs(5),
    )
    .await;
    let http = reqwest::Client::new();
    for _ in 0..3 {
        let answer = http
            .post(format!("{url}/api/approvals?x=1"))
            .bearer_auth("t0ken")
            .body("{\"title\":\"a\"}")
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status(), 200);
        assert_eq!(
            answer.headers()["x-erp-position"],
            "7",
            "answer headers are passed back"
        );
        assert_eq!(
            answer.text().await.expect("body"),
            "c2 /api/approvals?x=1 Bearer t0ken {\"title\":\"a\"}"
        );
    }
    let graphql = http
        .post(format!("{url}/graphql"))
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert!(graphql.text().await.expect("body").starts_with("q /graphql"));
}

#[tokio::test]
async fn no_reachable_instance_is_a_503_with_retry_after_naming_what_was_tried() {
    let down = closed().await;
    let url = gateway(
        Upstreams {
            commands: vec![down.clone()],
            queries: closed().await,
            live: closed().await,
            identity: None,
            projector: None,
        },
        Duration::from_secs(5),
    )
    .await;
    let answer = reqwest::get(format!("{url}/api/me")).await.expect("answer");
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["retry-after"], "1");
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = answer.json().await.expect("problem");
    assert_eq!(problem["code"], "upstream_unavailable");
    assert!(
        problem["detail"].as_str().unwrap_or_default().contains(&down),
        "{problem}"
    );
}

#[tokio::test]
async fn an_upstream_that_hangs_is_a_504_within_the_bound() {
    let slow = serve(axum::Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "late"
    }))
    .await;
    let url = gateway(
        Upstreams {
            commands: vec![closed().await],
            queries: slow,
            live: closed().await,
            identity: None,
            projector: None,
        },
        Duration::from_millis(300),
    )
    .await;
    let started = std::time::Instant::now();
    let answer = reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_subscription_socket_is_relayed_with_the_notifiers_subprotocol() {
    let echo = axum::Router::new().route(
        "/graphql/ws",
        axum::routing::get(|upgrade: WebSocketUpgrade| async move {
            upgrade
                .protocols(["graphql-transport-ws"])
                .on_upgrade(|mut socket| async move {
                    while let Some(Ok(ws::Message::Text(text))) = socket.next().await {
                        let _ = socket
                            .send(ws::Message::Text(format!("echo {}", text.as_str()).into()))
                            .await;
                    }
                })
        }),
    );
    let url = gateway(
        Upstreams {
            commands: vec![closed().await],
            queries: closed().await,
            live: serve(echo).await,
            identity: None,
            projector: None,
        },
        Duration::from_secs(5),
    )
    .await;
    let mut request = tungstenite::client::IntoClientRequest::into_client_request(
        format!("{}/graphql/ws", url.replacen("http", "ws", 1)).as_str(),
    )
    .expect("request");
    request.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, answer) = tokio_tungstenite::connect_async(request).await.expect("connect");
    assert_eq!(answer.headers()["sec-websocket-protocol"], "graphql-transport-ws");
    socket
        .send(tungstenite::Message::text("{\"type\":\"connection_init\"}"))
        .await
        .expect("send");
    let reply = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a reply in time")
        .expect("open")
        .expect("message");
    assert_eq!(
        reply.into_text().expect("text").as_str(),
        "echo {\"type\":\"connection_init\"}"
    );
}

#[tokio::test]
async fn a_socket_to_a_notifier_that_is_down_is_refused_with_503() {
    let url = gateway(
        Upstreams {
            commands: vec![closed().await],
            queries: closed().await,
            live: closed().await,
            identity: None,
            projector: None,
        },
        Duration::from_secs(5),
    )
    .await;
    let refused = tokio_tungstenite::connect_async(format!("{}/graphql/ws", url.replacen("http", "ws", 1))).await;
    match refused {
        Err(tungstenite::Error::Http(answer)) => assert_eq!(answer.status(), 503),
        other => panic!("expected a 503, got {other:?}"),
    }
}
