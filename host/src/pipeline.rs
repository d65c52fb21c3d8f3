//! The pipelines: `run` and the commands that change a run, each written as a list of named
//! steps. After every step the run record says how far it got (`meta.pipeline.last_step` and a
//! `step_finished` event), so a crash at any point leaves a run that `ls`/`show` explain and
//! `resume`, `clean` or `repair` can finish or undo. Pipelines never print and never build
//! git/tmux argv themselves: they talk to the user through [`crate::env::Ui`] and to the world
//! through the adapters. The read side lives in [`crate::query`].

pub mod archive;
pub mod authorize;
pub mod gates;
pub mod hook;
pub mod launch;
pub mod merge;
pub mod prompt;
pub mod push;
pub mod record;
pub mod repair;
pub mod restore;
pub mod run;
pub mod scaffold;
pub mod session;
pub mod steps;
pub mod verify;

pub use record::{RunRecord, fault};
