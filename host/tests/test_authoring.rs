//! Plugin authors: the frozen 0.1.0 and 0.2.0 APIs load (committed fixtures), the third-party
//! examples build and pass the conformance kit and work in real runs, `plugin new` scaffolds a
//! project that builds, tests and runs, and `plugin dev` installs without touching the shared
//! compile cache. Python and JavaScript examples are exercised when built (CI builds them and
//! sets AGENCY_TEST_POLYGLOT=1).

use std::path::{Path, PathBuf};

use crate::common::TestEnv;
use crate::common::env::wait_until;
use crate::common::repo::{rust_examples, toolchain_env};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built-in aider runner's screens (recorded from the real CLI, plus transcribed ones).
fn aider_screens() -> PathBuf {
    manifest_dir().join("../plugins/aider/screens")
}

fn opencode_screens() -> PathBuf {
    manifest_dir().join("../examples/opencode-runner/screens")
}

fn conformance(env: &TestEnv, target: &Path, screens: Option<&Path>) -> serde_json::Value {
    let mut args = vec!["plugin".to_string(), "test".into(), target.display().to_string(), "--json".into()];
    if let Some(dir) = screens {
        args.extend(["--screens".into(), dir.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let json = env.agency(&env.root(), &args).json();
    assert_eq!(json["passed"], true, "{}: {json:#}", target.display());
    json
}

/// Each released API version has a committed step and runner component built against it
/// (`tests/compat/agency-plugin-<version>-{step,runner}.wasm`; the step is
/// `plugins/fixtures/compat-step`, the runner the aider runner of that time with the screens
/// it was written for). The current host must load and run them unchanged.
#[test]
fn plugins_built_against_every_released_api_still_load_and_work() {
    let compat = manifest_dir().join("tests/compat");
    for version in ["0.1.0", "0.2.0"] {
        let env = TestEnv::new();
        let repo = env.repo("r");
        env.pin_plugin(
            &repo,
            "compat-step",
            &compat.join(format!("agency-plugin-{version}-step.wasm")),
            serde_json::json!({ "steps": { "setup": [{ "plugin": "compat-step" }] } }),
        );
        env.agency(&repo, &["--yes", "run", "--name", "old"]).ok();
        let meta = env.meta(&env.run_dirs()[0]);
        let head = env.sh(&repo, "git rev-parse HEAD");
        assert_eq!(meta["setup"]["output_summary"], format!("HEAD is {}", head.trim()), "{version}");
        assert_eq!(meta["plugins"]["setup"][0]["api_version"], version);
        let written = PathBuf::from(meta["worktree_path"].as_str().unwrap()).join(".agency/out/compat.txt");
        assert_eq!(std::fs::read_to_string(written).unwrap(), head.trim(), "{version}");
        let runner = compat.join(format!("agency-plugin-{version}-runner.wasm"));
        conformance(&env, &runner, Some(&compat.join(format!("runner-{version}-screens"))));
    }
}

#[test]
fn the_rust_examples_pass_the_kit_and_work_in_runs() {
    let mut env = TestEnv::new();
    let built = rust_examples();
    conformance(&env, &built.join("opencode_runner.wasm"), Some(&opencode_screens()));
    conformance(&env, &built.join("template_files.wasm"), None);
    conformance(&env, &built.join("cargo_test_verify.wasm"), None);

    // A third-party runner, added, granted and launched (with a stand-in `opencode` that
    // records the arguments it got and draws OpenCode's idle input).
    let repo = env.repo("r");
    env.agency(&repo, &["--yes", "plugin", "add", built.join("opencode_runner.wasm").to_str().unwrap()]).ok();
    env.fake_bin(
        "opencode",
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > .agency/tmp/opencode-args.txt\necho '  Ask anything...'\necho '  tab agents  ctrl+p commands'\nsleep 60\n",
    );
    let out = env.agency(&repo, &["run", "--name", "a", "--runner", "opencode", "--prompt", "add a test"]);
    out.ok();
    let run_dir = env.run_dirs()[0].clone();
    let worktree = PathBuf::from(env.meta(&run_dir)["worktree_path"].as_str().unwrap());
    let args = wait_until("the stand-in to start", 15, || {
        std::fs::read_to_string(worktree.join(".agency/tmp/opencode-args.txt"))
    });
    assert_eq!(args, "--prompt\nadd a test\n", "the prompt goes on the command line");
    assert_eq!(env.meta(&run_dir)["launch"]["prompt_delivery"], "argv");
    let status = wait_until("the screen read by the example", 15, || {
        let json = env.agency(&repo, &["ls", "--json"]).json();
        let status = json["runs"][0]["status"].clone();
        if status["decided_by"] == "screen:opencode" { Ok(status) } else { Err(format!("{json:#}")) }
    });
    assert_eq!(status["label"], "idle", "{status:#}");

    // A filesystem-only setup step and a verify step that runs the project's tests.
    let crate_repo = env.plain_repo("crate");
    std::fs::write(
        crate_repo.join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(crate_repo.join("src")).unwrap();
    std::fs::write(crate_repo.join("src/lib.rs"), "#[test]\nfn one() {}\n#[test]\nfn two() {}\n").unwrap();
    std::fs::write(crate_repo.join(".env.example"), "PORT=3000\n").unwrap();
    std::fs::write(crate_repo.join(".gitignore"), "target/\n.env\n").unwrap();
    env.agency(&crate_repo, &["init"]).ok();
    env.commit_all(&crate_repo, "tiny crate");
    env.pin_plugin(&crate_repo, "template-files", &built.join("template_files.wasm"), serde_json::json!({}));
    env.pin_plugin(
        &crate_repo,
        "cargo-test-verify",
        &built.join("cargo_test_verify.wasm"),
        serde_json::json!({
            "steps": { "setup": [{ "plugin": "template-files" }], "verify": [{ "plugin": "cargo-test-verify" }] }
        }),
    );
    for (k, v) in toolchain_env() {
        env.set_env(&k, &v);
    }
    env.agency(&crate_repo, &["--yes", "run", "--name", "t"]).ok();
    let meta = env.meta(&env.run_dirs().into_iter().find(|d| env.meta(d)["name"] == "t").unwrap());
    let worktree = PathBuf::from(meta["worktree_path"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(worktree.join(".env")).unwrap(), "PORT=3000\n");
    let verified = env.agency(&crate_repo, &["--yes", "verify", "t"]);
    assert_eq!(
        verified.value("summary").as_deref(),
        Some("2 passed, 0 failed"),
        "{}{}",
        verified.stdout,
        verified.stderr
    );
}

#[test]
fn plugin_new_scaffolds_a_project_that_builds_tests_and_runs() {
    let mut env = TestEnv::new();
    for (k, v) in toolchain_env() {
        env.set_env(&k, &v);
    }
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scaffolds");
    env.set_env("CARGO_TARGET_DIR", target.to_str().unwrap());
    let out = env.agency(&env.root(), &["plugin", "new", "my-agent", "--kind", "runner"]);
    out.ok();
    let project = env.root().join("my-agent");
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "README.md",
        "screens/idle--prompt.txt",
        "agency-plugin/wit/since_v0.2.0/agency-plugin.wit",
    ] {
        assert!(project.join(file).is_file(), "{file}");
    }
    env.sh(
        &project,
        "cargo build -q --release --target wasm32-wasip2 && cargo test -q 2>&1 | grep -q 'test result: ok'",
    );
    let wasm = target.join("wasm32-wasip2/release/my_agent.wasm");
    conformance(&env, &wasm, Some(&project.join("screens")));

    let repo = env.repo("r");
    env.agency(&repo, &["--yes", "plugin", "add", wasm.to_str().unwrap()]).ok();
    env.fake_bin("my-agent", "#!/bin/sh\necho 'ready> '\nsleep 60\n");
    env.agency(&repo, &["run", "--name", "mine", "--runner", "my-agent"]).ok();
    assert_eq!(env.meta(&env.run_dirs()[0])["plugins"]["runner"]["id"], "my-agent");

    // A step scaffold builds and its test passes too.
    env.agency(&env.root(), &["plugin", "new", "my-check", "--kind", "step"]).ok();
    env.sh(
        &env.root().join("my-check"),
        "cargo build -q --release --target wasm32-wasip2 && cargo test -q 2>&1 | grep -q 'test result: ok'",
    );
    env.agency(&env.root(), &["plugin", "new", "my-agent", "--kind", "runner"]).err("E_USAGE");
}

#[test]
fn plugin_dev_installs_without_touching_the_shared_cache() {
    let mut env = TestEnv::new();
    for (k, v) in toolchain_env() {
        env.set_env(&k, &v);
    }
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scaffolds");
    env.set_env("CARGO_TARGET_DIR", target.to_str().unwrap());
    let cache = env.root().join("dev-cache");
    env.set_env("AGENCY_CACHE_DIR", cache.to_str().unwrap());
    env.agency(&env.root(), &["plugin", "new", "dev-agent", "--kind", "runner"]).ok();
    // The dev loop builds with the project's own target dir.
    let project = env.root().join("dev-agent");
    env.set_env("CARGO_TARGET_DIR", project.join("target").to_str().unwrap());
    let out = env.agency(&env.root(), &["--yes", "plugin", "dev", "dev-agent"]);
    out.ok();
    assert!(out.stdout.contains("dev: compiled in memory"), "{}", out.stdout);
    assert!(out.stdout.contains("conformance: 10 of 10 checks passed"), "{}", out.stdout);
    let listed = env.agency(&env.root(), &["plugin", "inspect", "dev-agent", "--json"]).json();
    assert_eq!(listed["plugin"]["grant"], "granted");
    let cached = std::fs::read_dir(cache.join("plugins")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(cached, 0, "dev builds never enter the shared compile cache");
}

#[test]
fn python_and_javascript_examples() {
    let required = std::env::var_os("AGENCY_TEST_POLYGLOT").is_some();
    let examples = manifest_dir().join("../examples");
    let built: Vec<PathBuf> =
        ["python-runner/aider_py.wasm", "js-runner/aider_js.wasm"].iter().map(|p| examples.join(p)).collect();
    if !required && built.iter().any(|p| !p.exists()) {
        eprintln!(
            "python/js examples not built (run .ci/run or their build scripts); set AGENCY_TEST_POLYGLOT=1 to require them"
        );
        return;
    }
    let env = TestEnv::new();
    let repo = env.repo("r");
    for (wasm, id) in built.iter().zip(["aider-py", "aider-js"]) {
        assert!(wasm.is_file(), "{} was not built", wasm.display());
        // `add` precompiles into the cache (slow once); later loads come from the cache.
        let added = env.agency(&repo, &["--yes", "plugin", "add", wasm.to_str().unwrap()]);
        added.ok();
        let json =
            env.agency(&repo, &["plugin", "test", id, "--screens", aider_screens().to_str().unwrap(), "--json"]).json();
        assert_eq!(json["passed"], true, "{id}: {json:#}");
    }
    env.fake_bin("aider", "#!/bin/sh\nprintf '> '\nsleep 60\n");
    env.agency(&repo, &["run", "--name", "py", "--runner", "aider-py"]).ok();
    env.agency(&repo, &["run", "--name", "js", "--runner", "aider-js"]).ok();

    // `plugin new --lang python|js` scaffolds build with the same toolchains and pass the kit
    // (the toolchains are installed by .ci/run, which sets AGENCY_TEST_POLYGLOT).
    if !required {
        eprintln!("python/js scaffold builds skipped: set AGENCY_TEST_POLYGLOT=1 and AGENCY_TEST_COMPONENTIZE_PY");
        return;
    }
    let componentize_py = std::env::var("AGENCY_TEST_COMPONENTIZE_PY").unwrap_or_else(|_| "componentize-py".into());
    let node_modules = examples.join("js-runner/node_modules");
    env.agency(&env.root(), &["plugin", "new", "py-agent", "--kind", "runner", "--lang", "python"]).ok();
    env.sh(
        &env.root().join("py-agent"),
        &format!("{componentize_py} -d wit/since_v0.2.0 -w runner-plugin componentize app -o py_agent.wasm"),
    );
    conformance(&env, &env.root().join("py-agent/py_agent.wasm"), Some(&env.root().join("py-agent/screens")));
    env.agency(&env.root(), &["plugin", "new", "js-check", "--kind", "step", "--lang", "js"]).ok();
    std::os::unix::fs::symlink(&node_modules, env.root().join("js-check/node_modules")).unwrap();
    env.sh(&env.root().join("js-check"), "node build.mjs");
    conformance(&env, &env.root().join("js-check/js_check.wasm"), None);
}

#[test]
fn a_listing_across_repositories_reads_each_run_with_its_own_pins() {
    let env = TestEnv::new();
    let pinned = env.repo("pinned");
    env.pin_plugin(&pinned, "opencode", &rust_examples().join("opencode_runner.wasm"), serde_json::json!({}));
    env.fake_bin("opencode", "#!/bin/sh\necho '  Ask anything...'\nsleep 60\n");
    env.agency(&pinned, &["--yes", "run", "--name", "a", "--runner", "opencode"]).ok();

    // From a repository without that pin, the run is still read by the plugin its own repo pins.
    let elsewhere = env.repo("elsewhere");
    let status = wait_until("the opencode screen classified from another repository", 15, || {
        let json = env.agency(&elsewhere, &["ls", "--all-repos", "--json"]).json();
        let status = json["runs"][0]["status"].clone();
        if status["decided_by"] == "screen:opencode" { Ok(status) } else { Err(format!("{json:#}")) }
    });
    assert_eq!(status["label"], "idle", "{status:#}");
}
