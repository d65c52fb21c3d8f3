//! The one integration-test binary: every test drives the built `agency` against real git
//! repositories and a private tmux server. Each `test_*.rs` file must be listed here (a test
//! below fails otherwise).

mod common;

mod test_authoring;
mod test_concurrency;
mod test_crash_campaign;
mod test_crash_safety;
mod test_docs;
mod test_doctor;
mod test_gates;
mod test_init;
mod test_lock;
mod test_never_lose_work;
mod test_plugin_sandbox;
mod test_plugins;
mod test_properties;
mod test_real_agents;
mod test_records;
mod test_repair;
mod test_run;
mod test_sandbox_boundary;
mod test_session;
mod test_ship;
mod test_snapshots;
mod test_status;
mod test_terminal;
mod test_ui;

#[test]
fn every_test_file_is_listed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let listed = include_str!("cli.rs");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(module) = name.strip_prefix("test_").and_then(|n| n.strip_suffix(".rs")) {
            assert!(listed.contains(&format!("mod test_{module};")), "tests/{name} is not listed in tests/cli.rs");
        }
    }
}
