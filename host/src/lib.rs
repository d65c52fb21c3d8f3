//! agency turns "let an AI coding agent work on X" into an isolated, inspectable, reversible
//! run: a git worktree on its own branch, a durable run record, a setup step, and the agent in
//! a tmux session — then verify, push, merge and archive without losing work.
//!
//! Map of the crate (dependencies point downwards only):
//! - [`cli`] parses the command line, builds the context, dispatches to [`commands`] (one
//!   module per subcommand: parse → call a pipeline → render) and prints errors.
//! - [`pipeline`] holds the operations as named steps (`run`, `verify`, `push`, …).
//! - [`status`] derives a run's composed status from its record and live signals (pure).
//! - [`plugin`] is the WebAssembly host: engine, cache, manifest, grants and the one
//!   capability checker; nothing else names wasmtime.
//! - [`store`] owns the data dir: layout, atomic writes, `meta.json`, `events.jsonl`, locks.
//! - [`config`] reads `agency.json` and the user config strictly.
//! - [`repo`] finds the repository and its identity; [`git`], [`tmux`], [`gh`] are typed
//!   adapters over [`process`], the one subprocess builder.
//! - [`error`] is the one error type and the public list of error codes.

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod gh;
pub mod git;
pub mod pipeline;
pub mod plugin;
pub mod process;
pub mod repo;
pub mod status;
pub mod store;
pub mod tmux;
