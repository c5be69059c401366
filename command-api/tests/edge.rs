//! The HTTP edge every role serves through (`command_api::Application`), under load.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use axum::routing::get;
use axum::Router;
use command_api::edge;
use infra::admission::{Admission, AdmissionLimits};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A GET over a plain socket on a thread of its own (the server's runtime may be the one
/// that is blocked): the answer's status line and whether `done` was set when it arrived.
fn get_on_a_thread(port: u16, path: &'static str, done: Arc<AtomicBool>) -> std::thread::JoinHandle<(String, bool)> {
    std::thread::spawn(move || {
        let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            socket,
            "GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        socket.read_to_string(&mut answer).unwrap();
        let done_then = done.load(Ordering::SeqCst);
        (answer.lines().next().unwrap_or_default().to_owned(), done_then)
    })
}

/// Under overload every worker is busy with admitted work. The refusal of the request that
/// finds no place must not wait for a worker: it is the answer that tells the client to back
/// off, and it is worth nothing once it comes late. Here the only worker is held by one
/// admitted request for two seconds; the next request is refused while it still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_refusal_does_not_wait_for_the_admitted_work_that_holds_every_worker() {
    let done = Arc::new(AtomicBool::new(false));
    let finished = done.clone();
    let router = Router::new()
        .route(
            "/busy",
            get(move || async move {
                // Holds the worker itself, as CPU-bound work does, not merely the task.
                std::thread::sleep(Duration::from_secs(2));
                finished.store(true, Ordering::SeqCst);
                "done"
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            Admission::new(AdmissionLimits {
                max_in_flight: 1,
                max_queue: 0,
                max_wait: Duration::from_secs(5),
            }),
            edge::admit,
        ));
    let app = command_api::Application::bind("127.0.0.1:0".parse().unwrap(), router)
        .await
        .unwrap()
        .with_front_thread();
    let port = app.port();
    tokio::spawn(app.run_until_stopped(std::future::pending()));

    let busy = get_on_a_thread(port, "/busy", done.clone());
    tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(300)))
        .await
        .unwrap();
    let (refused, busy_done_then) = tokio::task::spawn_blocking(move || get_on_a_thread(port, "/more", done).join())
        .await
        .unwrap()
        .unwrap();
    assert!(refused.contains("503"), "refused for want of a place: {refused}");
    assert!(!busy_done_then, "the refusal came while the admitted request still ran");
    let (answered, _) = tokio::task::spawn_blocking(move || busy.join()).await.unwrap().unwrap();
    assert!(answered.contains("200"), "the admitted request is answered: {answered}");
}

/// Behind a front thread, the work of every route runs on the workers: admitted routes by
/// [`edge::admit`], the others (live updates, the web app, operations) by
/// [`edge::on_workers`] — a WebSocket's whole life would otherwise be spent on the front
/// thread, beside every other connection's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_front_thread_every_route_runs_on_the_workers() {
    let thread = || async { std::thread::current().name().unwrap_or_default().to_owned() };
    let admitted = Router::new()
        .route("/command", get(thread))
        .layer(axum::middleware::from_fn_with_state(
            Admission::new(AdmissionLimits::default()),
            edge::admit,
        ));
    let router = admitted
        .merge(edge::on_workers(Router::new().route("/live", get(thread))))
        .merge(edge::on_workers(Router::new().fallback(thread)));
    let app = command_api::Application::bind("127.0.0.1:0".parse().unwrap(), router)
        .await
        .unwrap()
        .with_front_thread();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    for path in ["/command", "/live", "/some/page"] {
        let ran_on = reqwest::get(format!("{base}{path}"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_ne!(ran_on, "http-front", "{path} ran on the front thread");
        assert!(ran_on.starts_with("tokio-r"), "{path} ran on {ran_on:?}");
    }
}
