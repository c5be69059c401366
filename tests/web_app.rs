//! `erp up` serves the web app at `/` from any working directory: the app built into
//! `web/dist` when the binary was compiled is embedded in it; without one, a page says how to
//! build it.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn erp_up_serves_the_app_from_any_directory() {
    let elsewhere = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_erp"))
        .args(["up", "--port", "0", "--no-seed", "--data-dir", "data"])
        .current_dir(elsewhere.path())
        .env_remove("ERP_WEB_DIR")
        .env("ERP_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut base = None;
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.trim().strip_prefix("web app") {
                base = Some(url.trim().trim_end_matches('/').to_owned());
                break;
            }
        }
    })
    .await
    .expect("erp up printed its banner");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let base = base.unwrap();
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}")).send();
    let page = get("/").await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/dist");
    match std::fs::read_to_string(dist.join("index.html")) {
        Ok(index) => {
            // Built before this binary was compiled: embedded, served outside the checkout.
            assert_eq!(page, index);
            let route = get("/approvals/some-client-route").await.unwrap().text().await.unwrap();
            assert_eq!(route, index, "client routes get index.html");
            let asset = dist.join("assets");
            if let Some(file) = std::fs::read_dir(&asset)
                .ok()
                .and_then(|mut d| d.next())
                .and_then(Result::ok)
            {
                let name = file.file_name().into_string().unwrap();
                let served = get(&format!("/assets/{name}")).await.unwrap();
                assert_eq!(served.status(), 200);
                assert_eq!(served.bytes().await.unwrap(), std::fs::read(file.path()).unwrap());
            }
        }
        Err(_) => assert!(page.contains("not built yet"), "{page}"),
    }
    let api = get("/api/no-such-route").await.unwrap();
    assert_eq!(api.status(), 404, "API paths never fall through to the app");
}
