//! `agency plugin new`: scaffold a buildable plugin project — source with the capability
//! declaration, recorded screens and a test for runners, a README with the build command, and
//! a vendored copy of the SDK and the frozen WIT so it builds offline from the registry alone.
//! `agency plugin dev` builds such a project and installs it for development.

use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::plugin::api::PluginKind;
use crate::process::Cmd;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Python,
    Js,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }
}

/// The API version new plugins are written against (its frozen WIT folder is vendored).
const WIT_FOLDER: &str = "since_v0.2.0";
const WIT: &str = include_str!("../../../wit/since_v0.2.0/agency-plugin.wit");
const SDK_FILES: &[(&str, &str)] = &[
    ("src/lib.rs", include_str!("../../../plugins/sdk/src/lib.rs")),
    ("src/builders.rs", include_str!("../../../plugins/sdk/src/builders.rs")),
    ("src/host.rs", include_str!("../../../plugins/sdk/src/host.rs")),
    ("src/output.rs", include_str!("../../../plugins/sdk/src/output.rs")),
    ("src/screen.rs", include_str!("../../../plugins/sdk/src/screen.rs")),
];
const SDK_MANIFEST: &str = "[package]\nname = \"agency-plugin\"\ndescription = \"The agency plugin SDK (vendored by agency plugin new)\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nwit-bindgen = { version = \"0.61\", default-features = false, features = [\"macros\", \"realloc\"] }\nserde_json = \"1\"\n";
const README: &str = include_str!("../../assets/templates/common/README.md.tmpl");
const SCREENS: &[(&str, &str)] = &[
    ("working--busy.txt", include_str!("../../assets/templates/common/screens/working--busy.txt")),
    ("needs-input--confirm.txt", include_str!("../../assets/templates/common/screens/needs-input--confirm.txt")),
    ("idle--prompt.txt", include_str!("../../assets/templates/common/screens/idle--prompt.txt")),
];
const RUST_MANIFEST: &str = include_str!("../../assets/templates/rust/Cargo.toml.tmpl");
const RUST_RUNNER: &str = include_str!("../../assets/templates/rust/runner.rs.tmpl");
const RUST_STEP: &str = include_str!("../../assets/templates/rust/step.rs.tmpl");
const GITIGNORE: &str = include_str!("../../assets/templates/common/gitignore.tmpl");
const PYTHON_RUNNER: &str = include_str!("../../assets/templates/python/runner.py.tmpl");
const PYTHON_RULES: &str = include_str!("../../assets/templates/python/rules.py.tmpl");
const PYTHON_TEST: &str = include_str!("../../assets/templates/python/test_rules.py.tmpl");
const PYTHON_BUILD: &str = include_str!("../../assets/templates/python/build.sh.tmpl");
const PYTHON_STEP: &str = include_str!("../../assets/templates/python/step.py.tmpl");
const JS_RUNNER: &str = include_str!("../../assets/templates/js/runner.js.tmpl");
const JS_STEP: &str = include_str!("../../assets/templates/js/step.js.tmpl");
const JS_BUILD: &str = include_str!("../../assets/templates/js/build.mjs.tmpl");
const JS_PACKAGE: &str = include_str!("../../assets/templates/js/package.json.tmpl");

/// What was written.
pub struct Scaffolded {
    pub dir: PathBuf,
    pub files: Vec<String>,
    pub build: String,
    pub wasm: String,
}

/// What to scaffold.
pub struct NewPlugin<'a> {
    pub id: &'a str,
    pub kind: PluginKind,
    pub lang: Lang,
    /// The agent program a runner starts (default: the id).
    pub program: Option<&'a str>,
    pub dir: Option<&'a Path>,
}

pub fn new_plugin(env: &Env, spec: &NewPlugin) -> Result<Scaffolded> {
    let NewPlugin { id, kind, lang, dir, .. } = *spec;
    let program = spec.program.unwrap_or(id);
    crate::config::agency_json::check_plugin_id(id)
        .map_err(|e| AgencyError::new(ErrorCode::Usage, e).with_hint("agency plugin new my-runner --kind runner"))?;
    let dir = env.cwd.join(dir.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(id)));
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(AgencyError::new(ErrorCode::Usage, format!("{} already exists and is not empty", dir.display()))
            .with_hint("pick another name or --dir"));
    }
    if program.is_empty() || program.chars().any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\') {
        return Err(AgencyError::new(ErrorCode::Usage, format!("--program {program:?} is not a program name"))
            .with_hint("pass the agent's executable, e.g. --program gemini"));
    }
    let crate_name = id.replace('-', "_");
    let fill = |t: &str, world: &str, source: &str| {
        t.replace("{{id}}", id)
            .replace("{{program}}", program)
            .replace("{{crate}}", &crate_name)
            .replace("{{world}}", world)
            .replace("{{source}}", source)
            .replace("{{wit}}", WIT_FOLDER)
    };
    let world = if kind == PluginKind::Runner { "runner-plugin" } else { "step-plugin" };
    let (files, build, wasm): (Vec<(String, String)>, String, String) = match lang {
        Lang::Rust => {
            let source = if kind == PluginKind::Runner { RUST_RUNNER } else { RUST_STEP };
            let mut files = vec![
                ("Cargo.toml".to_string(), format!("{}\n[workspace]\n", RUST_MANIFEST.replace("{{crate}}", id))),
                ("src/lib.rs".to_string(), fill(source, world, "")),
                ("agency-plugin/Cargo.toml".to_string(), SDK_MANIFEST.to_string()),
                (format!("agency-plugin/wit/{WIT_FOLDER}/agency-plugin.wit"), WIT.to_string()),
            ];
            files.extend(SDK_FILES.iter().map(|(path, text)| (format!("agency-plugin/{path}"), text.to_string())));
            let build = "rustup target add wasm32-wasip2\ncargo build --release --target wasm32-wasip2\ncargo test   # the screen tests run natively".to_string();
            (files, build, format!("target/wasm32-wasip2/release/{crate_name}.wasm"))
        }
        Lang::Python => {
            let source = if kind == PluginKind::Runner { PYTHON_RUNNER } else { PYTHON_STEP };
            let mut files = vec![
                ("app.py".to_string(), fill(source, world, "")),
                ("build.sh".to_string(), fill(PYTHON_BUILD, world, "")),
                (format!("wit/{WIT_FOLDER}/agency-plugin.wit"), WIT.to_string()),
            ];
            let mut build = "pip install componentize-py==0.25.1\n./build.sh".to_string();
            if kind == PluginKind::Runner {
                files.push(("rules.py".to_string(), fill(PYTHON_RULES, world, "")));
                files.push(("test_rules.py".to_string(), fill(PYTHON_TEST, world, "")));
                build.push_str("\npython3 -m unittest   # the screen tests run natively");
            }
            (files, build, format!("{crate_name}.wasm"))
        }
        Lang::Js => {
            let (source, file) =
                if kind == PluginKind::Runner { (JS_RUNNER, "runner.js") } else { (JS_STEP, "step.js") };
            let files = vec![
                (file.to_string(), fill(source, world, file)),
                ("build.mjs".to_string(), fill(JS_BUILD, world, file)),
                ("package.json".to_string(), fill(JS_PACKAGE, world, file)),
                (format!("wit/{WIT_FOLDER}/agency-plugin.wit"), WIT.to_string()),
            ];
            (files, "npm install\nnode build.mjs".to_string(), format!("{crate_name}.wasm"))
        }
    };
    let mut files = files;
    files.push((".gitignore".to_string(), GITIGNORE.to_string()));
    if kind == PluginKind::Runner {
        files.extend(SCREENS.iter().map(|(name, text)| (format!("screens/{name}"), text.to_string())));
    }
    let is_runner = kind == PluginKind::Runner;
    let readme = README
        .replace("{{id}}", id)
        .replace("{{kind}}", kind.as_str())
        .replace("{{lang}}", lang.as_str())
        .replace("{{build}}", &format!("```sh\n{build}\n```"))
        .replace("{{wasm}}", &wasm)
        .replace("{{screens_flag}}", if is_runner { " --screens screens" } else { "" })
        .replace(
            "{{try}}",
            &if is_runner {
                format!("agency run --runner {id} --name try-{id}")
            } else {
                format!("# in agency.json: \"steps\": {{\"verify\": [{{\"plugin\": \"{id}\"}}]}}")
            },
        );
    files.push(("README.md".to_string(), readme));
    for (path, text) in &files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| AgencyError::io(ErrorCode::DirNotWritable, "cannot create", parent, e))?;
        }
        std::fs::write(&target, text)
            .map_err(|e| AgencyError::io(ErrorCode::DirNotWritable, "cannot write", &target, e))?;
    }
    Ok(Scaffolded { dir, files: files.into_iter().map(|(p, _)| p).collect(), build, wasm })
}

/// Build a plugin project in `dir` and return the `.wasm`: Rust (`Cargo.toml`: cargo for
/// wasm32-wasip2), Python (`build.sh`: componentize-py) or JavaScript (`build.mjs`:
/// componentize-js), as `agency plugin new` scaffolds them.
pub fn build(dir: &Path) -> Result<PathBuf> {
    if dir.join("Cargo.toml").is_file() {
        return build_rust(dir);
    }
    let (program, script) = match (dir.join("build.sh").is_file(), dir.join("build.mjs").is_file()) {
        (true, _) => ("sh", "build.sh"),
        (false, true) => ("node", "build.mjs"),
        (false, false) => {
            return Err(AgencyError::new(
                ErrorCode::Usage,
                format!("{} has no Cargo.toml, build.sh or build.mjs", dir.display()),
            )
            .with_hint("run agency plugin dev on a project made by agency plugin new"));
        }
    };
    let started = std::time::SystemTime::now();
    run_build(Cmd::new(program).arg(script).cwd(dir), &format!("{program} {script}"))?;
    // The build's product: the `.wasm` it wrote (the newest in the project).
    let wasm = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .filter(|(modified, _)| *modified >= started - std::time::Duration::from_secs(2))
        .max()
        .map(|(_, p)| p);
    wasm.ok_or_else(|| {
        AgencyError::new(ErrorCode::PluginInvalid, format!("`{program} {script}` wrote no .wasm in {}", dir.display()))
    })
}

fn build_rust(dir: &Path) -> Result<PathBuf> {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| AgencyError::io(ErrorCode::Usage, "cannot read", &manifest, e))?;
    let name = text
        .lines()
        .find_map(|l| {
            l.trim().strip_prefix("name").map(|r| r.trim_start_matches([' ', '=']).trim().trim_matches('"').to_string())
        })
        .ok_or_else(|| AgencyError::new(ErrorCode::Usage, "Cargo.toml has no package name"))?;
    let cargo =
        Cmd::new("cargo").args(["build", "--release", "--target", "wasm32-wasip2", "--manifest-path"]).arg(&manifest);
    run_build(cargo, "cargo build")
        .map_err(|e| e.with_hint("rustup target add wasm32-wasip2   # if the target is missing"))?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| dir.join("target"));
    let wasm = target.join("wasm32-wasip2/release").join(format!("{}.wasm", name.replace('-', "_")));
    if !wasm.is_file() {
        return Err(AgencyError::new(
            ErrorCode::PluginInvalid,
            format!("the build did not produce {}", wasm.display()),
        )
        .with_hint("plugins are cdylib crates: [lib] crate-type = [\"cdylib\"]"));
    }
    Ok(wasm)
}

/// Run a build with its output on the terminal.
fn run_build(cmd: Cmd, what: &str) -> Result<()> {
    let status = cmd
        .run_interactive()
        .map_err(|e| AgencyError::new(ErrorCode::ToolNotFound, format!("cannot run {what}: {}", e.summary())))?;
    if status != Some(0) {
        return Err(AgencyError::new(ErrorCode::PluginInvalid, format!("`{what}` failed (see its output above)")));
    }
    Ok(())
}
