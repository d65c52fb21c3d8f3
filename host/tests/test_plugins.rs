//! Managing plugins: grants keyed by id and sha256 (first use refused without a TTY, `--yes`
//! or `plugin trust` grants, changed bytes ask again), project pins refuse changed files,
//! `plugin list/add/inspect/trust/remove`, and the compiled-code cache recovering from
//! corruption.

use std::path::Path;

use crate::common::TestEnv;
use crate::common::repo::{fixture, sha256_file};

/// A valid component with different bytes: the fixture plus a custom section.
fn changed_copy(from: &Path, to: &Path) {
    let mut bytes = std::fs::read(from).unwrap();
    bytes.extend_from_slice(&[0x00, 0x05, 0x03, b'p', b'a', b'd', b'x']);
    std::fs::write(to, bytes).unwrap();
}

fn hostile_step(env: &TestEnv, repo: &Path, wasm: &Path) {
    env.pin_plugin(repo, "hostile", wasm, serde_json::json!({ "steps": { "setup": [{ "plugin": "hostile" }] } }));
}

#[test]
fn a_new_plugin_needs_a_grant_and_changed_bytes_ask_again() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    hostile_step(&env, &repo, &fixture("hostile"));

    let stderr = env.agency(&repo, &["run", "--name", "a"]).err("E_PLUGIN_NOT_TRUSTED").to_string();
    assert!(stderr.contains("hint: agency plugin inspect hostile"), "review first: {stderr}");
    assert!(stderr.contains("agency plugin trust hostile"), "then grant: {stderr}");
    assert!(stderr.contains("from project pin"), "says where the bytes came from: {stderr}");
    assert!(stderr.contains("exec git status") && stderr.contains("read repo"), "lists what it asks for: {stderr}");
    assert!(env.run_dirs().is_empty(), "an ungranted plugin is a failed gate");

    let trusted = env.agency(&repo, &["plugin", "trust", "hostile"]);
    assert_eq!(trusted.value("grant").as_deref(), Some("granted"), "{}", trusted.stdout);
    env.agency(&repo, &["run", "--name", "a"]).ok();
    let meta = env.meta(&env.run_dirs()[0]);
    assert_eq!(meta["plugins"]["setup"][0]["sha256"], sha256_file(&fixture("hostile")));
    assert_eq!(meta["plugins"]["setup"][0]["origin"].as_str().unwrap().split(' ').next(), Some("project"));

    // Same id, different bytes: the pin must be updated, and the new bytes granted again.
    let changed = env.root().join("hostile-v2.wasm");
    changed_copy(&fixture("hostile"), &changed);
    std::fs::copy(&changed, repo.join("agency-plugins/hostile.wasm")).unwrap();
    env.commit_all(&repo, "swap plugin bytes");
    let stderr = env.agency(&repo, &["run", "--name", "b"]).err("E_PLUGIN_HASH_MISMATCH").to_string();
    assert!(stderr.contains(&sha256_file(&changed)), "names the new hash: {stderr}");
    hostile_step(&env, &repo, &changed);
    env.agency(&repo, &["run", "--name", "b"]).err("E_PLUGIN_NOT_TRUSTED");
    let out = env.agency(&repo, &["--yes", "run", "--name", "b"]);
    out.ok();
    assert!(out.stderr.contains("granted plugin `hostile`"), "{}", out.stderr);
    let grants: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.config.join("grants.json")).unwrap()).unwrap();
    assert_eq!(grants["plugins"]["hostile"].as_object().unwrap().len(), 2, "one grant per sha256");
}

#[test]
fn plugin_add_inspect_trust_list_remove() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let added = env.agency(&repo, &["plugin", "add", fixture("hostile-runner").to_str().unwrap()]);
    added.ok();
    assert_eq!(added.value("id").as_deref(), Some("hostile-runner"));
    assert_eq!(added.value("grant").as_deref(), Some("not granted"));
    assert!(added.stderr.contains("agency plugin trust hostile-runner"));
    assert!(env.data.join("plugins/hostile-runner.wasm").is_file());

    let inspect = env.agency(&repo, &["plugin", "inspect", "hostile-runner", "--json"]).json();
    assert_eq!(inspect["plugin"]["kind"], "runner");
    assert_eq!(inspect["plugin"]["api_version"], "0.2.0");
    assert!(inspect["plugin"]["capabilities"].as_array().unwrap().iter().any(|c| c == "exec sh -c exec sleep 60"));

    env.agency(&repo, &["run", "--name", "x", "--runner", "hostile-runner"]).err("E_PLUGIN_NOT_TRUSTED");
    env.agency(&repo, &["plugin", "trust", "hostile-runner"]).ok();
    env.agency(&repo, &["run", "--name", "x", "--runner", "hostile-runner"]).ok();

    let list = env.agency(&repo, &["plugin", "list", "--json"]).json();
    let ids: Vec<&str> = list["plugins"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    for id in ["claude", "codex", "command", "copy-files", "hostile-runner", "script", "shell"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let text = env.agency(&repo, &["plugin", "list"]);
    assert!(text.ok().lines().any(|l| l.starts_with("hostile-runner") && l.contains("granted")));

    assert_eq!(env.agency(&repo, &["plugin", "remove", "hostile-runner"]).ok().trim(), "removed: hostile-runner");
    assert!(!env.data.join("plugins/hostile-runner.wasm").exists());
    env.agency(&repo, &["plugin", "remove", "hostile-runner"]).err("E_PLUGIN_NOT_FOUND");
    env.agency(&repo, &["plugin", "remove", "shell"]).err("E_PLUGIN_INVALID");
    env.agency(&repo, &["plugin", "inspect", "hostile-runner"]).err("E_PLUGIN_NOT_FOUND");
}

#[test]
fn plugin_add_rejects_bad_files() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let junk = env.root().join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x01\0\0\0").unwrap();
    env.agency(&repo, &["plugin", "add", junk.to_str().unwrap()]).err("E_PLUGIN_INVALID");
    std::fs::write(&junk, b"not wasm at all").unwrap();
    env.agency(&repo, &["plugin", "add", junk.to_str().unwrap()]).err("E_PLUGIN_INVALID");
    env.agency(&repo, &["plugin", "add", fixture("api-v9").to_str().unwrap()]).err("E_PLUGIN_API_UNSUPPORTED");
    env.agency(&repo, &["plugin", "add", "/no/such/file.wasm"]).err("E_PLUGIN_NOT_FOUND");
    assert!(
        !env.data.join("plugins").exists() || std::fs::read_dir(env.data.join("plugins")).unwrap().next().is_none()
    );
}

#[test]
fn a_plugin_pinned_under_another_name_is_refused() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let step = |id: &str| serde_json::json!({ "plugin": id, "params": { "attack": "none" } });
    env.pin_plugin(&repo, "hostile", &fixture("hostile"), serde_json::json!({}));
    // The same bytes again under a second name: refused even when they are already loaded.
    env.pin_plugin(
        &repo,
        "impostor",
        &fixture("hostile"),
        serde_json::json!({ "steps": { "setup": [step("hostile"), step("impostor")] } }),
    );
    let stderr = env.agency(&repo, &["--yes", "run", "--name", "a"]).err("E_PLUGIN_INVALID").to_string();
    assert!(stderr.contains("plugin found as `impostor` reports id `hostile`"), "{stderr}");
    assert!(env.run_dirs().is_empty(), "a refused plugin is a failed gate");
}

#[test]
fn a_corrupt_cache_entry_is_recompiled() {
    let mut env = TestEnv::new();
    let private_cache = env.root().join("private-cache");
    env.set_env("AGENCY_CACHE_DIR", private_cache.to_str().unwrap());
    let repo = env.repo("r");
    let inspect = env.agency(&repo, &["plugin", "inspect", "shell", "--json"]).json();
    let sha = inspect["plugin"]["sha256"].as_str().unwrap().to_string();
    let entries: Vec<_> = std::fs::read_dir(private_cache.join("plugins"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 1, "one compiled entry: {entries:?}");
    assert!(entries[0].with_extension("digest").is_file(), "a digest beside it verifies what is loaded");
    let name = entries[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&sha) && name.ends_with(".cwasm"), "keyed by the wasm sha256: {name}");
    std::fs::write(&entries[0], b"garbage, not a compiled component").unwrap();
    // A warm load reads the kept declaration and runs nothing; the first real call (the kit's
    // plans) finds the entry wrong and recompiles it instead of running it.
    env.agency(&repo, &["plugin", "inspect", "shell"]).ok();
    assert_eq!(std::fs::read(&entries[0]).unwrap(), b"garbage, not a compiled component", "a warm load opens no code");
    env.agency(&repo, &["plugin", "test", "shell"]).ok();
    assert!(std::fs::read(&entries[0]).unwrap().len() > 1000, "the entry was rewritten");

    // The declaration is kept apart from the compiled code, so a warm load opens neither; a
    // kept one is validated like a fresh answer, and one that is gone is asked for again.
    let kept_files = || -> Vec<std::path::PathBuf> {
        let entries = std::fs::read_dir(private_cache.join("plugins")).unwrap().flatten().map(|e| e.path());
        entries.filter(|p| p.to_string_lossy().ends_with(".decl.json")).collect()
    };
    let [kept] = kept_files().try_into().expect("one kept declaration");
    assert!(kept.file_name().unwrap().to_string_lossy().starts_with(&sha), "keyed by the wasm sha256: {kept:?}");
    let declaration: serde_json::Value = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
    for field in ["id", "version", "description"] {
        assert_eq!(declaration["info"][field], inspect["plugin"][field], "the plugin's own declaration: {declaration}");
    }
    assert_eq!(declaration["exported"]["version"], inspect["plugin"]["api_version"]);
    let mut edited = declaration.clone();
    edited["info"]["id"] = "Not A Valid Id".into();
    std::fs::write(&kept, edited.to_string()).unwrap();
    env.agency(&repo, &["plugin", "inspect", "shell"]).err("E_PLUGIN_INVALID");

    // One naming an API this agency does not load is not believed: it is asked for again.
    let mut edited = declaration.clone();
    edited["exported"]["version"] = "9.0.0\u{1b}[2J".into();
    std::fs::write(&kept, edited.to_string()).unwrap();
    let asked = env.agency(&repo, &["plugin", "inspect", "shell", "--json"]).json();
    assert_eq!(asked["plugin"]["api_version"], inspect["plugin"]["api_version"]);
    let rewritten: serde_json::Value = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
    assert_eq!(rewritten, declaration, "kept anew from the plugin's own answer");

    // A declaration that names other exports than the code has is dropped at the first call.
    let mut edited = declaration.clone();
    edited["exported"]["version"] = "0.1.0".into();
    std::fs::write(&kept, edited.to_string()).unwrap();
    let refused = env.agency(&repo, &["plugin", "test", "shell"]);
    refused.err("E_PLUGIN_FAILED");
    assert!(
        refused
            .stdout
            .contains("E_PLUGIN_INVALID: plugin `shell`: its compiled code does not match the declaration kept for it"),
        "{}",
        refused.stdout
    );
    assert!(!kept.exists(), "the wrong declaration is forgotten");
    env.agency(&repo, &["plugin", "test", "shell"]).ok();
    assert!(kept.is_file(), "kept again");

    std::fs::remove_file(&kept).unwrap();
    let again = env.agency(&repo, &["plugin", "inspect", "shell", "--json"]).json();
    assert_eq!(again["plugin"], inspect["plugin"]);
    assert!(kept.is_file(), "kept again");
}
