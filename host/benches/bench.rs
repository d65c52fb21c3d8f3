//! The benchmark suite: process wall times of the built `agency` binary, each the median of
//! several runs with min and max, next to baselines measured in the same process:
//! - `agency ls --all-repos` over 1,000 generated runs in 10 repositories, and `agency show`;
//! - plugin cold compile (empty cache) and warm load (declaration kept), per built-in plugin;
//! - `agency run --detached` (shell runner, setup, tmux) versus bare `git worktree add` +
//!   `tmux new-session` on a generated 5,000-file repository (ratio);
//! - `agency ls` with 100 live tmux sessions (each classified by its runner plugin), and one
//!   runner plugin's first real call in a fresh process (`show` of a live run re-reading its pane);
//! - peak memory (max RSS) of `ls --all-repos --json` over the 1,000 runs;
//! - `agency ui` with the 100 live runs: CPU per refresh and the idle dashboard's share of
//!   one core (its own time and its tmux calls', from `/proc`);
//! - `agency run --detached` again once the repository has 1,000 run records (it must not
//!   grow with the number of runs);
//! - with `AGENCY_BENCH_GO` naming a build of the Go original, its `ls`, `ls --json` and `show`
//!   alternating with agency's on the same records (README "Performance" says how to build it).
//!
//! `cargo bench -p agency --bench bench` builds in release mode and measures. Under `cargo test`
//! (no `--bench` argument) it runs once in a quick mode, only to prove it works.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where and how commands run.
struct Bench {
    quick: bool,
    root: PathBuf,
    env: Vec<(String, String)>,
    /// The Go original's binary, to compare the listing with (`AGENCY_BENCH_GO`).
    go: Option<PathBuf>,
    /// The private tmux server's socket name (`AGENCY_TMUX_SOCKET`).
    socket: String,
}

/// The bench's private tmux server, killed when the bench ends, a failed assertion included.
struct TmuxServer(String);

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.0, "kill-server"]).stderr(Stdio::null()).status();
    }
}

/// The measurements, in the order taken.
struct Report {
    quick: bool,
    rows: Vec<(String, Vec<Duration>)>,
    /// For each alternating pair: its names and the median of the pair-by-pair ratios.
    ratios: Vec<(String, f64)>,
}

impl Report {
    /// Run `once` several times (once in quick mode) and keep the sorted times.
    fn sample(&mut self, name: &str, runs: usize, once: impl FnMut(usize) -> Duration) -> Duration {
        let runs = if self.quick { 1 } else { runs };
        let times = (0..runs).map(once).collect();
        self.keep(name, times)
    }

    /// Like `sample` for a command and its baseline, taken alternately so that drift in the
    /// machine (page cache, writeback of earlier files) falls on both alike.
    fn sample_pair(
        &mut self,
        names: [&str; 2],
        runs: usize,
        mut first: impl FnMut(usize) -> Duration,
        mut second: impl FnMut(usize) -> Duration,
    ) -> (Duration, Duration) {
        let runs = if self.quick { 1 } else { runs };
        let (a, b): (Vec<Duration>, Vec<Duration>) = (0..runs).map(|i| (first(i), second(i))).unzip();
        let mut ratios: Vec<f64> = a.iter().zip(&b).map(|(a, b)| a.as_secs_f64() / b.as_secs_f64()).collect();
        ratios.sort_by(f64::total_cmp);
        self.ratios.push((format!("{} / {}", names[0].trim(), names[1].trim()), ratios[ratios.len() / 2]));
        (self.keep(names[0], a), self.keep(names[1], b))
    }

    /// Record sorted times under `name`; returns the median.
    fn keep(&mut self, name: &str, mut times: Vec<Duration>) -> Duration {
        times.sort();
        let median = times[times.len() / 2];
        self.rows.push((name.to_string(), times));
        median
    }
}

fn agency() -> &'static str {
    env!("CARGO_BIN_EXE_agency")
}

impl Bench {
    fn cmd(&self, program: &str, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    /// Peak memory (max RSS, KiB) of one process; it must succeed.
    fn peak_rss_kib(&self, program: &str, args: &[&str], cwd: &Path) -> u64 {
        #[allow(clippy::zombie_processes)] // reaped by wait4 below, which also reports its rusage
        let child = self.cmd(program, cwd).args(args).stderr(Stdio::null()).spawn().expect("spawn");
        let mut status = 0;
        // SAFETY: a zeroed rusage is valid, and wait4 reaps our own child (std never waits on it).
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
        assert!(reaped > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{program} {args:?}");
        usage.ru_maxrss as u64
    }

    /// Time one process; it must succeed.
    fn time(&self, program: &str, args: &[&str], cwd: &Path) -> Duration {
        let mut cmd = self.cmd(program, cwd);
        cmd.args(args);
        time_command(cmd)
    }

    /// Time the Go original: the same records, and a tmux socket dir of its own (it asks the
    /// default server, which must not be the user's).
    fn time_go(&self, go: &Path, args: &[&str]) -> Duration {
        let mut cmd = self.cmd(&go.display().to_string(), &self.root);
        cmd.args(args).env("TMUX_TMPDIR", self.root.join("go-tmux")).env_remove("TMUX");
        time_command(cmd)
    }

    fn sh(&self, script: &str, cwd: &Path) {
        let out = self.cmd("sh", cwd).args(["-c", script]).output().unwrap();
        assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Run `cmd` to its end and return how long it took; it must succeed.
fn time_command(mut cmd: Command) -> Duration {
    let started = Instant::now();
    let out = cmd.output().expect("spawn");
    let took = started.elapsed();
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    took
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let dir = tempfile::Builder::new().prefix("agency-bench-").tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let socket = format!("agency-bench-{}", std::process::id());
    let _server = TmuxServer(socket.clone());
    let mut env = vec![
        ("AGENCY_DATA_DIR".to_string(), root.join("data").display().to_string()),
        ("AGENCY_CONFIG_DIR".into(), root.join("config").display().to_string()),
        ("AGENCY_CACHE_DIR".into(), root.join("cache").display().to_string()),
        ("AGENCY_TMUX_SOCKET".into(), socket.clone()),
        ("NO_COLOR".into(), "1".into()),
        ("GIT_CONFIG_GLOBAL".into(), root.join("gitconfig").display().to_string()),
    ];
    std::fs::create_dir_all(root.join("config")).unwrap();
    std::fs::write(root.join("config/config.json"), r#"{"version": 1, "defaults": {"runner": "shell"}}"#).unwrap();
    std::fs::write(
        root.join("gitconfig"),
        "[user]\n\tname = Bench\n\temail = bench@agency.invalid\n[init]\n\tdefaultBranch = main\n",
    )
    .unwrap();
    env.push(("HOME".into(), root.display().to_string()));
    std::fs::create_dir_all(root.join("go-tmux")).unwrap();
    let go = std::env::var_os("AGENCY_BENCH_GO").map(PathBuf::from);
    let bench = Bench { quick, root: root.clone(), env, go, socket };
    let mut report = Report { quick, rows: Vec::new(), ratios: Vec::new() };

    let baseline =
        report.sample("agency --version (process floor)", 20, |_| bench.time(agency(), &["--version"], &root));
    let peak = listing(&bench, &mut report);
    let plugin_over_floor = plugins(&bench, &mut report);
    let (agency_run, bare) = run_versus_bare(&bench, &mut report);
    let (live_repo, first_call) = live_status(&bench, &mut report);
    let dashboard = dashboard_cpu(&bench, &live_repo);

    print_report(&report, baseline, agency_run, bare, peak);
    for (id, over) in plugin_over_floor {
        println!("plugin {id}: warm load is {:.1} ms over the floor measured alongside", over * 1000.0);
    }
    println!(
        "plugin shell: its first classify call in a fresh process (code loaded, linked, called) costs {:.1} ms",
        first_call * 1000.0
    );
    println!(
        "agency ui with the live runs: {:.1} ms CPU per refresh, {:.1}% of one core while idle",
        dashboard.0, dashboard.1
    );
}

/// `ls` over generated records: 1,000 runs in 10 repositories (100 in quick mode), half of
/// them archived (merged or abandoned, their worktrees removed) like the data of the
/// side-by-side benchmark with the Go original, which tells archived runs by their missing
/// worktree. Returns the peak memory of `ls --all-repos --all --json` in KiB.
fn listing(bench: &Bench, report: &mut Report) -> u64 {
    let per_repo = if bench.quick { 10 } else { 100 };
    let data = bench.root.join("data");
    let mut last = String::new();
    for r in 0..10 {
        let repo_id = format!("{r:016x}");
        for n in 0..per_repo {
            let run_id = format!("20260101{:06}-{:04x}", r * 1000 + n, n);
            let run_dir = data.join("repos").join(&repo_id).join("runs").join(&run_id);
            let worktree = data.join("repos").join(&repo_id).join("worktrees").join(&run_id);
            std::fs::create_dir_all(run_dir.join("logs")).unwrap();
            let mut meta = serde_json::json!({
                "schema_version": "1.0", "run_id": run_id, "repo_id": repo_id, "name": format!("run-{n}"), "title": format!("Generated run {n}"),
                "runner": "shell", "runner_cmd": "sh", "parent_branch": "main", "branch": format!("agency/run-{n}-{n:04x}"),
                "worktree_path": worktree, "created_at": "2026-01-01T00:00:00Z",
                "pipeline": {"last_step": "scaffold"},
            });
            if n % 2 == 1 {
                meta["archive"] = serde_json::json!({"archived_at": "2026-01-02T00:00:00Z"});
                meta["flags"] = serde_json::json!({"abandoned": n % 4 == 1});
            } else {
                std::fs::create_dir_all(&worktree).unwrap();
            }
            std::fs::write(run_dir.join("meta.json"), serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
            last = run_id;
        }
    }
    let runs = 10 * per_repo;
    let root = bench.root.clone();
    let commands: [(String, Vec<&str>); 3] = [
        (format!("ls --all-repos ({runs} runs, 10 repos, half live)"), vec!["ls", "--all-repos"]),
        (format!("ls --all-repos --all --json ({runs} runs)"), vec!["ls", "--all-repos", "--all", "--json"]),
        ("show <run>".into(), vec!["show", &last]),
    ];
    for (name, args) in &commands {
        match &bench.go {
            Some(go) => {
                report.sample_pair(
                    [&format!("agency {name}"), &format!("  Go original {name}")],
                    15,
                    |_| bench.time(agency(), args, &root),
                    |_| bench.time_go(go, args),
                );
            }
            None => {
                report.sample(&format!("agency {name}"), 15, |_| bench.time(agency(), args, &root));
            }
        }
    }
    let peak = bench.peak_rss_kib(agency(), &["ls", "--all-repos", "--all", "--json"], &root);
    std::fs::remove_dir_all(data.join("repos")).unwrap();
    peak
}

/// Archived run records under `repo_id`, as many as `count`: what a repository accumulates.
fn generate_archived(bench: &Bench, repo_id: &str, count: usize) {
    let repo_dir = bench.root.join("data/repos").join(repo_id);
    for n in 0..count {
        let run_id = format!("20250101{n:06}-{:04x}", n % 65536);
        let run_dir = repo_dir.join("runs").join(&run_id);
        std::fs::create_dir_all(&run_dir).unwrap();
        let meta = serde_json::json!({
            "schema_version": "1.0", "run_id": run_id, "repo_id": repo_id, "name": format!("old-{n}"),
            "runner": "shell", "runner_cmd": "sh", "parent_branch": "main", "branch": format!("agency/old-{n}"),
            "worktree_path": repo_dir.join("worktrees").join(&run_id), "created_at": "2025-01-01T00:00:00Z",
            "port_base": 20000 + (n % 100) * 10, "archive": {"archived_at": "2025-01-02T00:00:00Z"},
        });
        std::fs::write(run_dir.join("meta.json"), serde_json::to_vec(&meta).unwrap()).unwrap();
    }
}

/// Cold compile (fresh cache dir each time) and warm load, per built-in. The warm load (the
/// declaration kept by an earlier load: no engine, no compiled code until a real call)
/// alternates with `agency --version`, so each is compared with the floor measured at the same
/// moment; returns (id, median of the warm load − median of its floor).
fn plugins(bench: &Bench, report: &mut Report) -> Vec<(String, f64)> {
    let ids: &[&str] = if bench.quick {
        &["shell"]
    } else {
        &["script", "copy-files", "claude", "codex", "gemini", "aider", "command", "shell"]
    };
    let root = bench.root.clone();
    let mut over_floor = Vec::new();
    for id in ids {
        report.sample(&format!("plugin {id}: cold compile + info"), 5, |i| {
            let cache = root.join(format!("cold-cache-{id}-{i}"));
            let started = Instant::now();
            let status = bench
                .cmd(agency(), &root)
                .env("AGENCY_CACHE_DIR", &cache)
                .args(["plugin", "inspect", id])
                .status()
                .unwrap();
            assert!(status.success());
            started.elapsed()
        });
        bench.time(agency(), &["plugin", "inspect", id], &root);
        let (warm, floor) = report.sample_pair(
            [
                &format!("plugin {id}: warm load (declaration kept)"),
                &format!("  agency --version, alternating with {id}"),
            ],
            15,
            |_| bench.time(agency(), &["plugin", "inspect", id], &root),
            |_| bench.time(agency(), &["--version"], &root),
        );
        over_floor.push((id.to_string(), warm.as_secs_f64() - floor.as_secs_f64()));
    }
    over_floor
}

/// `agency run --detached` vs `git worktree add` + `tmux new-session` on a 5,000-file repo.
fn run_versus_bare(bench: &Bench, report: &mut Report) -> (Duration, Duration) {
    let files = if bench.quick { 500 } else { 5000 };
    let repo = bench.root.join("big");
    std::fs::create_dir_all(&repo).unwrap();
    bench.sh("git init -q -b main", &repo);
    for i in 0..files {
        let dir = repo.join(format!("src/m{}", i / 100));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("f{i}.rs")), format!("pub fn f{i}() -> u32 {{ {i} }}\n")).unwrap();
    }
    bench.sh("git add -A && git commit -qm files", &repo);
    bench.time(agency(), &["init"], &repo);
    bench.sh("git add -A && git commit -qm agency", &repo);
    bench.time(agency(), &["plugin", "inspect", "shell"], &repo);
    let socket = bench.socket.as_str();
    let names = [
        format!("agency run --detached (shell runner, {files} files)"),
        format!("bare git worktree add + tmux new-session ({files} files)"),
    ];
    let (agency_run, bare) = report.sample_pair(
        [&names[0], &names[1]],
        9,
        |i| bench.time(agency(), &["run", "--detached", "--name", &format!("bench-{i}")], &repo),
        |i| {
            let path = bench.root.join(format!("bare-{i}"));
            let started = Instant::now();
            bench.sh(
                &format!(
                    "git worktree add -q -b bare-{i} {} main && tmux -L {socket} new-session -d -s bare-{i} -c {}",
                    path.display(),
                    path.display()
                ),
                &repo,
            );
            started.elapsed()
        },
    );
    // The same again once the repository has 1,000 run records (100 in quick mode).
    let records = if bench.quick { 100 } else { 1000 };
    let doctor = bench.cmd(agency(), &repo).arg("doctor").stdout(Stdio::piped()).output().unwrap();
    let repo_id = String::from_utf8_lossy(&doctor.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("repo_id: ").map(str::to_string))
        .expect("doctor prints repo_id");
    generate_archived(bench, &repo_id, records);
    report.sample(&format!("agency run --detached, {records} run records in the repo"), 9, |i| {
        bench.time(agency(), &["run", "--detached", "--name", &format!("many-{i}")], &repo)
    });
    (agency_run, bare)
}

/// `agency ls` while 100 runs have live sessions (10 in quick mode): at first look (every pane
/// captured and classified: no reading kept yet) and again with the panes unchanged (readings
/// kept beside the records are reused). Returns the repository (its runs stay live for the
/// dashboard measurement) and the cost of a first classify call (see [`first_classify_call`]).
fn live_status(bench: &Bench, report: &mut Report) -> (PathBuf, f64) {
    let count = if bench.quick { 10 } else { 100 };
    let repo = bench.root.join("live");
    std::fs::create_dir_all(&repo).unwrap();
    bench.sh("git init -q -b main && git commit -q --allow-empty -m init", &repo);
    bench.time(agency(), &["init"], &repo);
    bench.sh("git add -A && git commit -qm agency", &repo);
    for i in 0..count {
        bench.time(agency(), &["run", "--detached", "--name", &format!("live-{i}")], &repo);
    }
    // The agents' shells are quiet from here on (a pane's activity time has whole seconds).
    std::thread::sleep(Duration::from_secs(2));
    let kept_readings = || {
        let runs = std::fs::read_dir(bench.root.join("data/repos")).unwrap().flatten().map(|r| r.path().join("runs"));
        runs.flat_map(|runs| std::fs::read_dir(runs).into_iter().flatten().flatten())
            .map(|run| run.path().join("screen_reading.json"))
            .filter(|path| path.exists())
            .collect::<Vec<_>>()
    };
    report.sample(&format!("agency ls ({count} live sessions, first look: all captured, classified)"), 9, |_| {
        for path in kept_readings() {
            std::fs::remove_file(path).unwrap();
        }
        bench.time(agency(), &["ls"], &repo)
    });
    report.sample(&format!("agency ls ({count} live sessions, unchanged since: readings kept)"), 9, |_| {
        bench.time(agency(), &["ls"], &repo)
    });
    let first_call = first_classify_call(bench, report, &repo);
    (repo, first_call)
}

/// A runner plugin's first real call in a fresh process: `show` of one live run with its kept
/// reading removed (the pane is captured, the plugin's code loaded and linked, `classify`
/// called) alternating with `show` answered from that reading, and a bare `tmux capture-pane`
/// of the same pane (the one step of the first that is not the plugin's). By full run id from
/// outside the repository, like the `show` row. Returns the median of the first − the second
/// − the capture.
fn first_classify_call(bench: &Bench, report: &mut Report, repo: &Path) -> f64 {
    let json = bench.cmd(agency(), repo).args(["show", "live-0", "--json"]).stdout(Stdio::piped()).output().unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&json.stdout)
        .unwrap_or_else(|e| panic!("show --json: {e}: {}", String::from_utf8_lossy(&json.stderr)));
    let run_id = shown["run"]["run_id"].as_str().unwrap().to_string();
    let reading = PathBuf::from(shown["paths"]["run_dir"].as_str().unwrap()).join("screen_reading.json");
    let session = shown["meta"]["tmux_session_name"].as_str().unwrap().to_string();
    let socket = bench.socket.as_str();
    let capture = ["-L", socket, "capture-pane", "-p", "-t", &format!("={session}:")].map(String::from);
    let mut captures = Vec::new();
    let (reread, kept) = report.sample_pair(
        ["agency show, live run, reading dropped (capture, classify)", "  agency show, the same run, reading kept"],
        15,
        |_| {
            let _ = std::fs::remove_file(&reading);
            bench.time(agency(), &["show", &run_id], &bench.root)
        },
        |_| {
            assert!(reading.is_file(), "the reading was kept again");
            let mut tmux = bench.cmd("tmux", repo);
            tmux.args(&capture);
            captures.push(time_command(tmux));
            bench.time(agency(), &["show", &run_id], &bench.root)
        },
    );
    let capture = report.keep("  bare tmux capture-pane of that pane", captures);
    reread.as_secs_f64() - kept.as_secs_f64() - capture.as_secs_f64()
}

/// Run `agency ui` in a tmux pane over the live runs, let it settle, then measure the CPU it
/// used (with its tmux calls) over a window of refreshes. Returns (ms per refresh, % of a core).
fn dashboard_cpu(bench: &Bench, repo: &Path) -> (f64, f64) {
    let socket = bench.socket.as_str();
    let vars: Vec<String> = bench.env.iter().map(|(k, v)| format!("{k}='{v}'")).collect();
    let command = format!(
        "exec env -i {} PATH='{}' TERM=xterm-256color {} ui",
        vars.join(" "),
        std::env::var("PATH").unwrap_or_default(),
        agency()
    );
    let started = Command::new("tmux")
        .args(["-L", socket, "new-session", "-d", "-s", "bench-ui", "-x", "160", "-y", "48", "-c"])
        .arg(repo)
        .arg(&command)
        .status()
        .unwrap();
    assert!(started.success());
    let pid = String::from_utf8_lossy(
        &Command::new("tmux")
            .args(["-L", socket, "display-message", "-p", "-t", "=bench-ui:", "#{pane_pid}"])
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string();
    let cpu = || -> f64 {
        // utime, stime, cutime, cstime: fields 14-17 of /proc/<pid>/stat (after the `(comm)`).
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<f64> = after_comm.split(' ').filter_map(|f| f.parse().ok()).collect();
        // After the comm, field 3 is state (not numeric); utime is the 14th field overall.
        let ticks: f64 = fields[10..14].iter().sum();
        // SAFETY: sysconf has no preconditions.
        ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
    };
    std::thread::sleep(Duration::from_secs(3));
    let window = if bench.quick { Duration::from_secs(3) } else { Duration::from_secs(20) };
    let before = cpu();
    std::thread::sleep(window);
    let used = cpu() - before;
    let _ = Command::new("tmux").args(["-L", socket, "kill-session", "-t", "=bench-ui"]).status();
    let refreshes = window.as_secs_f64(); // one refresh a second
    (used * 1000.0 / refreshes, used * 100.0 / window.as_secs_f64())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().next().and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .map(|kb| format!("{} GiB", kb / 1024 / 1024))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem}")
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn print_report(bench: &Report, baseline: Duration, agency_run: Duration, bare: Duration, peak_kib: u64) {
    println!(
        "\nagency benchmarks{} — {}",
        if bench.quick { " (quick mode: one run each, smaller inputs)" } else { "" },
        machine()
    );
    println!("{:<62} {:>10} {:>10} {:>10} {:>4}", "measurement", "median", "min", "max", "n");
    for (name, times) in &bench.rows {
        println!(
            "{:<62} {:>10} {:>10} {:>10} {:>4}",
            name,
            ms(times[times.len() / 2]),
            ms(times[0]),
            ms(times[times.len() - 1]),
            times.len()
        );
    }
    println!("\nratio agency run / bare worktree+tmux: {:.2}x", agency_run.as_secs_f64() / bare.as_secs_f64());
    println!("alternating pairs, median of the pair-by-pair ratios:");
    for (names, ratio) in &bench.ratios {
        println!("  {ratio:.2}x  {names}");
    }
    println!("process floor (agency --version): {}", ms(baseline));
    println!("peak memory of agency ls --all-repos --all --json: {:.1} MiB", peak_kib as f64 / 1024.0);
}
