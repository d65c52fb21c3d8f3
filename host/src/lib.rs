//! agency turns "let an AI coding agent work on X" into an isolated, inspectable, reversible
//! run: a git worktree on its own branch, a durable run record, a setup step, and the agent in
//! a tmux session — then verify, push, merge and archive without losing work.
//!
//! Map of the crate (dependencies point downwards only):
//! - [`cli`] parses the command line, builds the context, dispatches to [`commands`] (one
//!   module per subcommand: parse → call one operation → render) and prints errors.
//! - [`env`] is the application context every operation shares (dirs, store, user config,
//!   the [`env::Ui`] to talk to the user, the re-entrant repo lock, the plugin host).
//! - [`pipeline`] holds the operations that write run records, as named steps (`run`,
//!   `verify`, `push`, `merge`, `clean`, `restore`, `repair`, session commands).
//! - [`query`] is the read side: which runs are in scope, `<ref>` resolution, each run's
//!   composed status from its record and live signals, logs. `ls`, `show` and `ui` read here.
//! - [`ui`] is the dashboard (`agency ui`): state, drawing and actions over `query` and the
//!   commands themselves.
//! - [`admin`] is set-up and diagnostics (`init`, `doctor`) and plugin administration and
//!   authoring (list/add/trust/remove, `plugin new`, the conformance kit).
//! - [`status`] derives a run's composed status from its record and live signals (pure).
//! - [`plugin`] is the WebAssembly host: engine, cache, manifest, grants and the one
//!   capability checker; nothing else names wasmtime.
//! - [`store`] owns the data dir: layout, atomic writes, `meta.json`, `events.jsonl`, locks,
//!   run names and ids, and the `.agency/` layout inside a worktree.
//! - [`config`] reads `agency.json` and the user config strictly.
//! - [`repo`] finds the repository and its identity; [`git`], [`tmux`], [`gh`] are typed
//!   adapters over [`process`], the one subprocess builder.
//! - [`error`] is the one error type and the public list of error codes; [`clock`] the
//!   timestamps records use; [`parallel`] spreads work over many runs across a few threads.

pub(crate) mod admin;
pub(crate) mod child_env;
pub mod cli;
pub mod clock;
pub(crate) mod commands;
pub mod config;
pub(crate) mod env;
pub mod error;
pub(crate) mod gh;
pub(crate) mod git;
pub(crate) mod parallel;
pub(crate) mod pipeline;
pub mod plugin;
pub mod process;
pub(crate) mod query;
pub mod repo;
pub(crate) mod safe_text;
pub(crate) mod status;
pub mod store;
pub(crate) mod tmux;
pub(crate) mod ui;
