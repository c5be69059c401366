//! Embeds the built web app in the `erp` binary, so `erp up` serves it from any directory and
//! as an installed binary: when `web/dist/index.html` exists at compile time, `ERP_WEB_DIST`
//! points `include_dir!` at `web/dist`; otherwise at an empty folder, and `erp up` says how to
//! build the app. A fresh clone (no `web/dist` yet) still builds.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dist = manifest.join("web/dist");
    let embedded = if dist.join("index.html").is_file() {
        println!("cargo:rerun-if-changed=web/dist");
        dist
    } else {
        // Rerun when the app is built (web/dist appears in web/).
        println!("cargo:rerun-if-changed=web");
        let empty = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("no-web-app");
        if let Err(e) = std::fs::create_dir_all(&empty) {
            println!("cargo:warning=creating {}: {e}", empty.display());
        }
        empty
    };
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-env=ERP_WEB_DIST={}", embedded.display());
}
