//! `agency init`: files written, modes, idempotence, `--force`, `--no-gitignore`.

use std::os::unix::fs::PermissionsExt;

use crate::common::TestEnv;

#[test]
fn init_writes_config_stubs_gitignore_and_protocol() {
    let env = TestEnv::new();
    let repo = env.plain_repo("r");
    let out = env.agency(&repo, &["init"]);
    out.ok();
    assert!(out.value("agency_json").unwrap().starts_with("created "));
    assert_eq!(out.value("script_setup").as_deref(), Some("created scripts/agency_setup.sh"));
    assert_eq!(out.value("gitignore").as_deref(), Some("added .agency/"));
    assert_eq!(out.value("runner_protocol").as_deref(), Some("created AGENCY.md"));
    for script in ["agency_setup.sh", "agency_verify.sh", "agency_archive.sh"] {
        let mode = std::fs::metadata(repo.join("scripts").join(script)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "{script}");
    }
    assert!(std::fs::read_to_string(repo.join(".gitignore")).unwrap().lines().any(|l| l == ".agency/"));
    assert!(std::fs::read_to_string(repo.join("AGENCY.md")).unwrap().contains("runner_status.json"));
    // The verify stub fails until replaced.
    let status = env.command(repo.join("scripts/agency_verify.sh"), &repo).status().unwrap();
    assert!(!status.success());
}

#[test]
fn init_never_overwrites_scripts_and_force_replaces_only_agency_json() {
    let env = TestEnv::new();
    let repo = env.plain_repo("r");
    env.agency(&repo, &["init"]).ok();
    std::fs::write(repo.join("scripts/agency_setup.sh"), "#!/bin/sh\necho mine\n").unwrap();
    std::fs::write(
        repo.join("agency.json"),
        r#"{"version": 1, "scripts": {"setup": {"path": "scripts/agency_setup.sh"}}}"#,
    )
    .unwrap();

    let again = env.agency(&repo, &["init"]);
    again.ok();
    assert!(again.value("agency_json").unwrap().starts_with("kept"));
    assert_eq!(again.value("script_setup").as_deref(), Some("kept scripts/agency_setup.sh"));
    assert_eq!(again.value("gitignore").as_deref(), Some("already ignores .agency/"));
    assert!(std::fs::read_to_string(repo.join("agency.json")).unwrap().contains(r#""version": 1, "scripts""#));

    let forced = env.agency(&repo, &["init", "--force"]);
    forced.ok();
    assert!(forced.value("agency_json").unwrap().starts_with("replaced"));
    assert!(std::fs::read_to_string(repo.join("agency.json")).unwrap().contains("agency_verify.sh"));
    assert_eq!(std::fs::read_to_string(repo.join("scripts/agency_setup.sh")).unwrap(), "#!/bin/sh\necho mine\n");
}

#[test]
fn init_without_gitignore() {
    let env = TestEnv::new();
    let repo = env.plain_repo("r");
    let out = env.agency(&repo, &["init", "--no-gitignore"]);
    assert_eq!(out.value("gitignore").as_deref(), Some("skipped (--no-gitignore)"));
    assert!(!repo.join(".gitignore").exists());
}

#[test]
fn init_outside_a_repo_fails_cleanly() {
    let env = TestEnv::new();
    let dir = env.root().join("not-a-repo");
    std::fs::create_dir(&dir).unwrap();
    env.agency(&dir, &["init"]).err("E_NO_REPO");
    assert!(!dir.join("agency.json").exists());
}
