//! Builds the built-in plugins (the `plugins/` guest workspace) for `wasm32-wasip2` and
//! generates `builtin_plugins.rs`, which embeds them with `include_bytes!`. The guest build
//! uses its own target dir so it never waits on the outer cargo's lock. Test fixtures from
//! `plugins/fixtures/` are built too, and their directory is exported to the tests as
//! `AGENCY_FIXTURES_DIR`; they are never embedded.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (plugin id, cargo package) of every built-in plugin.
const BUILTINS: &[(&str, &str)] = &[
    ("script", "agency-step-script"),
    ("copy-files", "agency-step-copy-files"),
    ("claude", "agency-runner-claude"),
    ("codex", "agency-runner-codex"),
    ("command", "agency-runner-command"),
    ("shell", "agency-runner-shell"),
    ("gemini", "agency-runner-gemini"),
    ("aider", "agency-runner-aider"),
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    let plugins = root.join("plugins");
    for watched in ["Cargo.toml", "Cargo.lock", "sdk", "fixtures"].into_iter().chain(BUILTINS.iter().map(|(id, _)| *id))
    {
        println!("cargo:rerun-if-changed={}", plugins.join(watched).display());
    }
    println!("cargo:rerun-if-changed={}", root.join("wit").display());

    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let guest_target = target_dir.join("wasm-plugins");
    build_guests(&plugins, &guest_target);

    let out = guest_target.join("wasm32-wasip2").join("release");
    let mut code = String::from(
        "/// Built-in plugins: (id, component bytes, sha256 of the bytes).\npub const BUILTINS: &[(&str, &[u8], &str)] = &[\n",
    );
    for (id, package) in BUILTINS {
        let file = out.join(format!("{}.wasm", package.replace('-', "_")));
        assert!(file.is_file(), "built-in plugin {id} was not built: {}", file.display());
        let bytes = std::fs::read(&file).unwrap();
        let sha: String = <sha2::Sha256 as sha2::Digest>::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        code.push_str(&format!("    ({id:?}, include_bytes!({:?}), {sha:?}),\n", file.display().to_string()));
    }
    code.push_str("];\n");
    code.push_str(&screens_table(&plugins));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out_dir.join("builtin_plugins.rs"), code).unwrap();
    println!("cargo:rustc-env=AGENCY_FIXTURES_DIR={}", out.display());
    pack_relocations(&out_dir);
}

/// Pack the binary's relative relocations (`-z pack-relative-relocs`, DT_RELR) when the linker
/// and the C library support it: the dynamic loader then applies the ~34,000 relocations of
/// the position-independent binary from a few kilobytes instead of 800 KB, a third of a
/// millisecond off the start of every command. Probed by linking and running a small program
/// that has relative relocations; left out when cross-compiling, or when either side is too
/// old (binutils < 2.38 warns about the flag, glibc < 2.36 refuses to start the program).
fn pack_relocations(out_dir: &Path) {
    let (Ok(host), Ok(target)) = (std::env::var("HOST"), std::env::var("TARGET")) else { return };
    if host != target || !target.contains("linux-gnu") {
        return;
    }
    let linker = std::env::var_os("RUSTC_LINKER").unwrap_or_else(|| "cc".into());
    let probe = out_dir.join("relr-probe");
    let source = out_dir.join("relr-probe.c");
    let program =
        "static const char *words[] = {\"relr\", \"probe\"};\nint main(void) { return words[1][0] != 'p'; }\n";
    let works = std::fs::write(&source, program).is_ok()
        && Command::new(&linker)
            .arg(&source)
            .arg("-o")
            .arg(&probe)
            .args(["-fPIE", "-pie", "-Wl,-z,pack-relative-relocs", "-Wl,--fatal-warnings"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        && Command::new(&probe).status().is_ok_and(|s| s.success());
    if works {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

fn build_guests(plugins: &Path, target: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--target", "wasm32-wasip2", "--workspace", "--manifest-path"])
        .arg(plugins.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target);
    // The outer build's settings are for the host, not for the guests.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let inherited = key.starts_with("CARGO_")
            && !matches!(
                key.as_ref(),
                "CARGO_HOME" | "CARGO_MAKEFLAGS" | "CARGO_NET_OFFLINE" | "CARGO_REGISTRIES_CRATES_IO_PROTOCOL"
            );
        if inherited || matches!(key.as_ref(), "RUSTFLAGS" | "RUSTC_WORKSPACE_WRAPPER" | "RUSTDOCFLAGS") {
            command.env_remove(key.as_ref());
        }
    }
    let status = command.status().unwrap_or_else(|e| panic!("cannot run cargo to build the plugins: {e}"));
    if !status.success() {
        panic!(
            "building the built-in plugins failed (see above). If the target is missing, run:\n    rustup target add wasm32-wasip2"
        );
    }
}

/// Recorded screens shipped for the conformance kit: `plugins/<id>/screens/<state>--<what>.txt`
/// (recorded from the real CLI) and `plugins/<id>/screens/transcribed/…` (states the CLI
/// cannot reach offline, transcribed from public captures).
fn screens_table(plugins: &Path) -> String {
    let mut rows = Vec::new();
    for (id, _) in BUILTINS {
        let dir = plugins.join(id).join("screens");
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        for sub in ["", "transcribed"] {
            let Ok(entries) = std::fs::read_dir(dir.join(sub)) else { continue };
            for path in entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "txt")) {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                files.push((if sub.is_empty() { name } else { format!("{sub}/{name}") }, path));
            }
        }
        files.sort();
        for (name, file) in files {
            rows.push(format!("    ({id:?}, {name:?}, include_str!({:?})),\n", file.display().to_string()));
        }
    }
    format!(
        "/// Recorded screens per built-in runner: (plugin id, file name, text).\npub const SCREENS: &[(&str, &str, &str)] = &[\n{}];\n",
        rows.concat()
    )
}
