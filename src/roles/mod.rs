//! One module per role, each an `Application`-style value: `build` connects and binds
//! everything from the settings (failing before serving anything), `run_until_stopped` serves
//! until Ctrl-C or SIGTERM and shuts down in order. `main` only picks one.

pub mod command_api;
pub mod gateway;
pub mod notifier;
pub mod projector;
pub mod query_api;
pub mod up;
