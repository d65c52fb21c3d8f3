//! The crash campaign: `kill -9` of agency at random moments of `clean`, `restore`,
//! `repair`, `merge` and `run`, on a repository with thousands of files, checking one
//! invariant after every kill — every byte of the user's work (untracked, modified, staged,
//! committed-not-pushed, ignored) is in the worktree or in the run's archive refs — and that
//! the documented recovery (`repair`, the command again, `restore`) brings all of it back.
//!
//! The schedule is random but reproducible: the seed is printed, and
//! `AGENCY_CRASH_SEED=<n> AGENCY_CRASH_ROUNDS=<rounds per operation>` replays or lengthens it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::TestEnv;
use crate::common::env::{agency_bin, wait_until};

/// Files in the campaign's repository (`git worktree add` and removal take a while).
const FILES: usize = 3000;

/// A tiny xorshift generator: the schedule must replay from a printed seed.
struct Schedule(u64);

impl Schedule {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A delay in `[0, max]`.
    fn delay(&mut self, max: Duration) -> Duration {
        Duration::from_micros(self.next() % (max.as_micros() as u64 + 1))
    }
}

/// The user's work in one run: (path, content) of each file, and how git should see it.
struct Work {
    run_id: String,
    worktree: PathBuf,
    files: Vec<(String, String)>,
    staged: (String, String),
    committed: String,
}

fn big_repo(env: &mut TestEnv) -> PathBuf {
    let (repo, _bare) = env.github_repo("campaign");
    for i in 0..FILES {
        let dir = repo.join(format!("src/d{}", i % 30));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("f{i}.txt")), format!("file {i}\n").repeat(20)).unwrap();
    }
    std::fs::write(repo.join(".gitignore"), ".agency/\n.env\n").unwrap();
    env.commit_all(&repo, "thousands of files");
    env.sh(&repo, "git push -q origin main");
    repo
}

/// Start a run and leave every kind of work in it.
fn run_with_work(env: &TestEnv, repo: &Path, round: usize) -> Work {
    let (run_id, worktree) = env.start_run(repo, &format!("c{round}"));
    let tag = format!("{run_id}-{round}");
    env.sh(
        &worktree,
        &format!("echo 'committed {tag}' > committed.txt && git add committed.txt && git commit -qm committed"),
    );
    let files = vec![
        ("untracked.txt".to_string(), format!("untracked {tag}\n")),
        ("src/d1/f1.txt".to_string(), format!("modified {tag}\n")),
        (".env".to_string(), format!("SECRET={tag}\n")),
        ("new/deep/file.bin".to_string(), format!("binary-ish \u{1} {tag}\n")),
    ];
    for (path, content) in &files {
        let full = worktree.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    let staged = ("src/d2/f2.txt".to_string(), format!("staged {tag}\n"));
    std::fs::write(worktree.join(&staged.0), &staged.1).unwrap();
    env.sh(&worktree, &format!("git add {}", staged.0));
    Work { run_id, worktree, files, staged, committed: format!("committed {tag}\n") }
}

fn spawn(env: &TestEnv, repo: &Path, args: &[&str]) -> std::process::Child {
    env.command(agency_bin(), repo).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

/// Kill agency after `delay` (or let it finish first), then wait for git processes that
/// outlive it on purpose (`worktree add/remove` finish rather than stop halfway). True when
/// the kill landed.
fn kill_after(env: &TestEnv, mut child: std::process::Child, delay: Duration) -> bool {
    let deadline = Instant::now() + delay;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let root = env.root().display().to_string();
    wait_until("git processes agency left to finish", 60, || {
        let out = std::process::Command::new("pgrep").args(["-f", &format!("worktree .*{root}")]).output().unwrap();
        if out.stdout.is_empty() { Ok(()) } else { Err("still running") }
    });
    true
}

/// Every file of `work` is in the worktree or in one of the run's archive refs.
fn assert_work_is_somewhere(env: &TestEnv, repo: &Path, work: &Work, when: &str) {
    let refs = env.sh(repo, &format!("git for-each-ref --format='%(refname)' 'refs/agency/archive/{}*'", work.run_id));
    let in_archive = |path: &str, content: &str| {
        refs.lines().any(|r| {
            let out = env.command("git", repo).args(["show", &format!("{r}:{path}")]).output().unwrap();
            out.status.success() && out.stdout == content.as_bytes()
        })
    };
    let in_worktree =
        |path: &str, content: &str| std::fs::read(work.worktree.join(path)).is_ok_and(|b| b == content.as_bytes());
    for (path, content) in
        work.files.iter().chain([&work.staged, &("committed.txt".to_string(), work.committed.clone())])
    {
        assert!(
            in_worktree(path, content) || in_archive(path, content),
            "{when}: `{path}` of {} is neither in the worktree nor in {refs:?}",
            work.run_id
        );
    }
}

/// After a restore: everything is back, byte for byte, with the staged/unstaged split.
fn assert_restored(env: &TestEnv, work: &Work, when: &str) {
    for (path, content) in &work.files {
        let got = std::fs::read_to_string(work.worktree.join(path)).unwrap_or_else(|e| panic!("{when}: {path}: {e}"));
        assert_eq!(&got, content, "{when}: {path}");
    }
    assert_eq!(env.sh(&work.worktree, &format!("git show :{}", work.staged.0)), work.staged.1, "{when}: staged");
    assert_eq!(env.sh(&work.worktree, "git show HEAD:committed.txt"), work.committed, "{when}: committed");
}

fn archived(env: &TestEnv, run_id: &str) -> bool {
    env.meta(&env.run_dir_of(run_id))["archive"]["archived_at"].is_string()
}

/// What a user does after a crash: `repair`, then the command again until the run is
/// archived, then `restore`.
fn recover_and_restore(env: &TestEnv, repo: &Path, work: &Work, when: &str) {
    env.agency(repo, &["repair"]).ok();
    if !archived(env, &work.run_id) {
        let meta = env.meta(&env.run_dir_of(&work.run_id));
        if meta["archive"]["restore_started_at"].is_string() {
            env.agency(repo, &["restore", &work.run_id]).ok();
            return assert_restored(env, work, when);
        }
        env.agency(repo, &["clean", &work.run_id, "--yes"]).ok();
    }
    assert_work_is_somewhere(env, repo, work, &format!("{when}, archived"));
    env.agency(repo, &["restore", &work.run_id]).ok();
    assert_restored(env, work, when);
}

/// How long an uninterrupted `op` takes here: kills land anywhere in it.
fn measure(env: &TestEnv, repo: &Path, op: &str) -> Duration {
    let work = run_with_work(env, repo, 900 + op.len());
    let started = Instant::now();
    match op {
        "restore" => {
            env.agency(repo, &["clean", &work.run_id, "--yes"]).ok();
            let started = Instant::now();
            env.agency(repo, &["restore", &work.run_id]).ok();
            let took = started.elapsed();
            env.agency(repo, &["clean", &work.run_id, "--yes"]).ok();
            return took;
        }
        _ => env.agency(repo, &["clean", &work.run_id, "--yes"]).ok(),
    };
    started.elapsed()
}

#[test]
fn kill_dash_nine_anywhere_never_loses_work() {
    let seed: u64 = std::env::var("AGENCY_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    let rounds: usize = std::env::var("AGENCY_CRASH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    eprintln!("crash campaign: AGENCY_CRASH_SEED={seed} AGENCY_CRASH_ROUNDS={rounds}");
    let mut schedule = Schedule(seed);
    let mut env = TestEnv::new();
    let repo = big_repo(&mut env);
    let clean_takes = measure(&env, &repo, "clean") + Duration::from_millis(200);
    let restore_takes = measure(&env, &repo, "restore") + Duration::from_millis(200);

    let mut landed = 0;
    for round in 0..rounds * 5 {
        let op = ["clean", "restore", "repair", "merge", "run"][round % 5];
        let when = format!("round {round} ({op}, seed {seed})");
        match op {
            "clean" => {
                let work = run_with_work(&env, &repo, round);
                landed += usize::from(kill_after(
                    &env,
                    spawn(&env, &repo, &["clean", &work.run_id, "--yes"]),
                    schedule.delay(clean_takes),
                ));
                assert_work_is_somewhere(&env, &repo, &work, &when);
                recover_and_restore(&env, &repo, &work, &when);
                env.agency(&repo, &["clean", &work.run_id, "--yes"]).ok();
            }
            "restore" => {
                let work = run_with_work(&env, &repo, round);
                env.agency(&repo, &["clean", &work.run_id, "--yes"]).ok();
                landed += usize::from(kill_after(
                    &env,
                    spawn(&env, &repo, &["restore", &work.run_id]),
                    schedule.delay(restore_takes),
                ));
                assert_work_is_somewhere(&env, &repo, &work, &when);
                env.agency(&repo, &["repair"]).ok();
                env.agency(&repo, &["restore", &work.run_id]).ok_or_archived_elsewhere(&when);
                assert_restored(&env, &work, &when);
                env.agency(&repo, &["clean", &work.run_id, "--yes"]).ok();
            }
            "repair" => {
                // A clean interrupted at a random point, then a repair interrupted too.
                let work = run_with_work(&env, &repo, round);
                landed += usize::from(kill_after(
                    &env,
                    spawn(&env, &repo, &["clean", &work.run_id, "--yes"]),
                    schedule.delay(clean_takes),
                ));
                landed +=
                    usize::from(kill_after(&env, spawn(&env, &repo, &["repair"]), schedule.delay(clean_takes / 2)));
                assert_work_is_somewhere(&env, &repo, &work, &when);
                recover_and_restore(&env, &repo, &work, &when);
                env.agency(&repo, &["clean", &work.run_id, "--yes"]).ok();
            }
            "merge" => {
                let (run_id, worktree) = env.start_run(&repo, &format!("c{round}"));
                env.sh(
                    &worktree,
                    &format!("echo 'committed {round}' > merged-{round}.txt && git add . && git commit -qm m{round}"),
                );
                env.agency(&repo, &["push", &run_id]).ok();
                let work = Work {
                    run_id: run_id.clone(),
                    worktree: worktree.clone(),
                    files: vec![("after-push.txt".into(), format!("after push {round}\n"))],
                    staged: (format!("merged-{round}.txt"), format!("committed {round}\n")),
                    committed: format!("committed {round}\n"),
                };
                std::fs::write(worktree.join("after-push.txt"), &work.files[0].1).unwrap();
                std::fs::write(worktree.join("committed.txt"), &work.committed).unwrap();
                env.sh(&worktree, "git add committed.txt && git commit -qm c");
                let merge = spawn(&env, &repo, &["merge", &run_id, "--yes", "--force"]);
                landed +=
                    usize::from(kill_after(&env, merge, schedule.delay(clean_takes + Duration::from_millis(500))));
                assert_work_is_somewhere(&env, &repo, &work, &when);
                recover_and_restore(&env, &repo, &work, &when);
                env.agency(&repo, &["clean", &run_id, "--yes"]).ok();
            }
            _ => {
                let before = env.run_dirs();
                let run = spawn(&env, &repo, &["run", "--detached", "--name", &format!("c{round}")]);
                landed += usize::from(kill_after(&env, run, schedule.delay(clean_takes)));
                env.agency(&repo, &["repair"]).ok();
                for dir in env.run_dirs().into_iter().filter(|d| !before.contains(d) && d.join("meta.json").exists()) {
                    if env.meta(&dir)["archive"]["archived_at"].is_null() {
                        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
                        env.agency(&repo, &["clean", &id, "--yes"]).ok();
                    }
                }
            }
        }
        env.assert_consistent(&repo);
    }
    eprintln!("crash campaign: {landed} kills landed mid-command in {} rounds", rounds * 5);
    assert!(landed >= rounds * 2, "the schedule must actually interrupt commands ({landed} kills landed)");
}

trait RestoreOutcome {
    fn ok_or_archived_elsewhere(&self, when: &str);
}

impl RestoreOutcome for crate::common::env::Outcome {
    /// A restore killed after it finished its work leaves nothing to restore: that is fine.
    fn ok_or_archived_elsewhere(&self, when: &str) {
        assert!(
            self.code == 0 || self.stderr.starts_with("error_code: E_NOT_ARCHIVED"),
            "{when}: restore after the crash failed:\n{}",
            self.stderr
        );
    }
}
