//! What the binary's integration tests share: `erp up` as a child process on a free port.

#![allow(dead_code, clippy::unwrap_used)] // each test crate uses its part

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

pub const ERP: &str = env!("CARGO_BIN_EXE_erp");

/// A running `erp up` on a free port, killed on drop.
pub struct Up {
    pub base: String,
    pub banner: String,
    pub data_dir: std::path::PathBuf,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

/// Starts `erp up --port 0 --no-seed` with `args`; returns once its banner is printed (it is
/// listening).
pub async fn up(args: &[&str]) -> Up {
    up_with(&["--no-seed"].iter().chain(args).copied().collect::<Vec<_>>(), &[]).await
}

/// Starts `erp up --port 0` with `args` and environment `env`; returns once its banner is
/// printed.
pub async fn up_with(args: &[&str], env: &[(&str, &str)]) -> Up {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("fresh/data");
    let mut child = tokio::process::Command::new(ERP)
        .args(["up", "--port", "0", "--data-dir"])
        .arg(&data_dir)
        .args(args)
        .env("ERP_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            banner.push_str(&line);
            banner.push('\n');
            if line.contains("health ") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("erp up printed its banner");
    // Keep reading so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let port = banner
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no port in the banner:\n{banner}"))
        .to_owned();
    Up {
        base: format!("http://127.0.0.1:{port}"),
        banner,
        data_dir,
        _child: child,
        _dir: dir,
    }
}

impl Up {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn port(&self) -> u16 {
        self.base.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0)
    }
}
