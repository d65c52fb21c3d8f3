//! Shared test environment: a private home, data/config/cache dirs, tmux socket and git config
//! per test, throwaway repositories, and helpers to run the built `agency` binary.

#![allow(dead_code)]

pub mod env;
pub mod repo;

pub use env::TestEnv;
