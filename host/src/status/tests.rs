//! The status precedence as a table: each row is a situation and the label, activity and
//! deciding signal it must produce.

use super::*;
use crate::plugin::api::{Activity as Screen, Observation};
use crate::store::meta::{Archive, Flags, Launch, Pipeline, RunMeta};
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-25 14:30 UTC);

fn minutes_ago(m: i64) -> OffsetDateTime {
    NOW - time::Duration::minutes(m)
}

fn live_meta() -> RunMeta {
    RunMeta {
        schema_version: "1.0".into(),
        run_id: "20261125140000-abcd".into(),
        name: "feat".into(),
        tmux_session_name: Some("agency_20261125140000-abcd".into()),
        pipeline: Some(Pipeline { last_step: Some("launch".into()), ..Default::default() }),
        launch: Some(Box::new(Launch { mode: "interactive".into(), ..Default::default() })),
        ..RunMeta::default()
    }
}

fn alive() -> Signals {
    Signals { session_alive: true, pane_activity: Some(minutes_ago(0)), ..Signals::new(NOW) }
}

fn screen(activity: Screen, reason: &str, evidence: &str) -> Option<ScreenSignal> {
    Some(ScreenSignal::Read {
        plugin: "claude".into(),
        observation: Observation {
            activity,
            reason: reason.into(),
            evidence: Some(evidence.into()),
            resume_session: None,
        },
    })
}

fn hook(activity: Activity, event: &str, age_minutes: i64) -> Option<HookReport> {
    Some(HookReport { activity, event: event.into(), detail: String::new(), at: minutes_ago(age_minutes) })
}

fn report(status: &str, age_minutes: i64) -> StatusFile {
    StatusFile::Report(StatusReport {
        status: status.into(),
        summary: "doing things".into(),
        updated_at: minutes_ago(age_minutes),
        questions: vec!["Postgres or SQLite?".into()],
        blockers: vec!["no credentials".into()],
        how_to_test: Some("cargo test".into()),
    })
}

struct Case {
    name: &'static str,
    meta: RunMeta,
    signals: Signals,
    label: &'static str,
    activity: Option<Activity>,
    decided_by: &'static str,
}

fn cases() -> Vec<Case> {
    let archived = |merged: bool, abandoned: bool| RunMeta {
        archive: Some(Box::new(Archive {
            archived_at: Some("2026-11-25T14:00:00Z".into()),
            merged_at: merged.then(|| "2026-11-25T14:00:00Z".into()),
            ..Default::default()
        })),
        flags: Some(Flags { abandoned, ..Default::default() }),
        ..live_meta()
    };
    let not_started = RunMeta {
        tmux_session_name: None,
        pipeline: Some(Pipeline { last_step: Some("scaffold".into()), ..Default::default() }),
        ..live_meta()
    };
    let setup_failed = RunMeta {
        tmux_session_name: None,
        flags: Some(Flags {
            setup_failed: true,
            needs_attention: true,
            needs_attention_reason: Some("setup_failed".into()),
            ..Default::default()
        }),
        pipeline: Some(Pipeline {
            last_step: Some("scaffold".into()),
            failed_step: Some("setup".into()),
            error_code: Some("E_SCRIPT_FAILED".into()),
            ..Default::default()
        }),
        ..live_meta()
    };
    let headless =
        RunMeta { launch: Some(Box::new(Launch { mode: "headless".into(), ..Default::default() })), ..live_meta() };
    let exit = |code, timed_out| {
        Some(AgentExit { code, timed_out, started_at: Some(minutes_ago(5)), ended_at: Some(minutes_ago(1)) })
    };
    vec![
        Case {
            name: "merged",
            meta: archived(true, false),
            signals: Signals::new(NOW),
            label: "merged",
            activity: None,
            decided_by: "record",
        },
        Case {
            name: "abandoned",
            meta: archived(false, true),
            signals: Signals::new(NOW),
            label: "abandoned",
            activity: None,
            decided_by: "record",
        },
        Case {
            name: "archived",
            meta: archived(false, false),
            signals: Signals::new(NOW),
            label: "archived",
            activity: None,
            decided_by: "record",
        },
        Case {
            name: "setup failed",
            meta: setup_failed,
            signals: Signals::new(NOW),
            label: "failed: setup",
            activity: None,
            decided_by: "record",
        },
        Case {
            name: "worktree missing",
            meta: live_meta(),
            signals: Signals { worktree_exists: false, ..alive() },
            label: "worktree missing",
            activity: None,
            decided_by: "record",
        },
        Case {
            name: "not started",
            meta: not_started,
            signals: Signals::new(NOW),
            label: "created, not started",
            activity: None,
            decided_by: "record",
        },
        Case {
            name: "session gone",
            meta: live_meta(),
            signals: Signals::new(NOW),
            label: "session gone",
            activity: None,
            decided_by: "tmux",
        },
        Case {
            name: "headless done",
            meta: headless.clone(),
            signals: Signals { exit: exit(0, false), ..alive() },
            label: "done",
            activity: None,
            decided_by: "runner_exit",
        },
        Case {
            name: "headless failed",
            meta: headless.clone(),
            signals: Signals { exit: exit(2, false), ..Signals::new(NOW) },
            label: "failed",
            activity: None,
            decided_by: "runner_exit",
        },
        Case {
            name: "headless timed out",
            meta: headless,
            signals: Signals { exit: exit(143, true), ..alive() },
            label: "failed",
            activity: None,
            decided_by: "runner_exit",
        },
        Case {
            name: "agent exited",
            meta: live_meta(),
            signals: Signals { exit: exit(0, false), ..alive() },
            label: "agent exited",
            activity: None,
            decided_by: "runner_exit",
        },
        Case {
            name: "screen prompt beats a working status file",
            meta: live_meta(),
            signals: Signals {
                screen: screen(Screen::NeedsInput, "a permission prompt", "Do you want to proceed?"),
                status_file: report("working", 0),
                ..alive()
            },
            label: "needs input",
            activity: Some(Activity::NeedsInput),
            decided_by: "screen:claude",
        },
        Case {
            name: "fresh needs_input report beats a working screen",
            meta: live_meta(),
            signals: Signals {
                screen: screen(Screen::Working, "busy", "✳ Thinking… (3s)"),
                status_file: report("needs_input", 1),
                ..alive()
            },
            label: "needs input",
            activity: Some(Activity::NeedsInput),
            decided_by: "status_file",
        },
        Case {
            name: "stale needs_input report loses to a working screen",
            meta: live_meta(),
            signals: Signals {
                screen: screen(Screen::Working, "busy", "✳ Thinking… (3s)"),
                status_file: report("needs_input", 60),
                ..alive()
            },
            label: "working",
            activity: Some(Activity::Working),
            decided_by: "screen:claude",
        },
        Case {
            name: "blocked",
            meta: live_meta(),
            signals: Signals { status_file: report("blocked", 2), ..alive() },
            label: "blocked",
            activity: Some(Activity::Blocked),
            decided_by: "status_file",
        },
        Case {
            name: "ready for review never goes stale",
            meta: live_meta(),
            signals: Signals {
                screen: screen(Screen::Idle, "at the prompt", "? for shortcuts"),
                status_file: report("ready_for_review", 600),
                ..alive()
            },
            label: "ready for review",
            activity: Some(Activity::ReadyForReview),
            decided_by: "status_file",
        },
        Case {
            name: "working from the screen",
            meta: live_meta(),
            signals: Signals { screen: screen(Screen::Working, "busy", "esc to interrupt"), ..alive() },
            label: "working",
            activity: Some(Activity::Working),
            decided_by: "screen:claude",
        },
        Case {
            name: "working from a fresh report",
            meta: live_meta(),
            signals: Signals { status_file: report("working", 3), ..alive() },
            label: "working",
            activity: Some(Activity::Working),
            decided_by: "status_file",
        },
        Case {
            name: "idle screen",
            meta: live_meta(),
            signals: Signals {
                screen: screen(Screen::Idle, "at the prompt", "❯"),
                status_file: report("working", 60),
                ..alive()
            },
            label: "idle",
            activity: Some(Activity::Idle),
            decided_by: "screen:claude",
        },
        Case {
            name: "stale report and a quiet pane: stalled",
            meta: live_meta(),
            signals: Signals { status_file: report("working", 60), pane_activity: Some(minutes_ago(45)), ..alive() },
            label: "stalled",
            activity: Some(Activity::Stalled),
            decided_by: "status_file",
        },
        Case {
            name: "stale report but a busy pane: not stalled",
            meta: live_meta(),
            signals: Signals { status_file: report("working", 60), pane_activity: Some(minutes_ago(0)), ..alive() },
            label: "running",
            activity: Some(Activity::Unknown),
            decided_by: "tmux",
        },
        Case {
            name: "the scaffold's template is not a report",
            meta: live_meta(),
            signals: Signals { status_file: StatusFile::Template, pane_activity: Some(minutes_ago(90)), ..alive() },
            label: "running",
            activity: Some(Activity::Unknown),
            decided_by: "tmux",
        },
        Case {
            name: "an invalid status file is reported, not trusted",
            meta: live_meta(),
            signals: Signals { status_file: StatusFile::Invalid("unknown status \"done\"".into()), ..alive() },
            label: "running",
            activity: Some(Activity::Unknown),
            decided_by: "tmux",
        },
        Case {
            name: "screen error beats a working status file",
            meta: live_meta(),
            signals: Signals {
                screen: screen(Screen::Error, "API error", "API Error: Unable to connect"),
                status_file: report("working", 1),
                ..alive()
            },
            label: "error",
            activity: Some(Activity::Error),
            decided_by: "screen:claude",
        },
        Case {
            name: "hook idle beats a screen reading of working when the pane is quiet since",
            meta: live_meta(),
            signals: Signals {
                screen: screen(Screen::Working, "busy", "esc to interrupt"),
                hook: hook(Activity::Idle, "Stop", 1),
                pane_activity: Some(minutes_ago(2)),
                ..alive()
            },
            label: "idle",
            activity: Some(Activity::Idle),
            decided_by: "hook",
        },
        Case {
            name: "output after the hook report means the screen knows better (a late or missed hook)",
            meta: live_meta(),
            signals: Signals {
                screen: screen(Screen::Working, "busy", "esc to interrupt"),
                hook: hook(Activity::Idle, "Stop", 1),
                ..alive()
            },
            label: "working",
            activity: Some(Activity::Working),
            decided_by: "screen:claude",
        },
        Case {
            name: "a hook decides when the screen says nothing clear",
            meta: live_meta(),
            signals: Signals {
                screen: screen(Screen::Unknown, "no marker", "…"),
                hook: hook(Activity::NeedsInput, "PermissionRequest", 1),
                ..alive()
            },
            label: "needs input",
            activity: Some(Activity::NeedsInput),
            decided_by: "hook",
        },
        Case {
            name: "a dialog on screen beats a hook that says working",
            meta: live_meta(),
            signals: Signals {
                screen: screen(Screen::NeedsInput, "permission prompt", "Do you want to proceed?"),
                hook: hook(Activity::Working, "PreToolUse", 0),
                ..alive()
            },
            label: "needs input",
            activity: Some(Activity::NeedsInput),
            decided_by: "screen:claude",
        },
        Case {
            name: "a stale working hook falls through to the screen",
            meta: live_meta(),
            signals: Signals {
                screen: screen(Screen::Idle, "at the prompt", "? for shortcuts"),
                hook: hook(Activity::Working, "PreToolUse", 120),
                ..alive()
            },
            label: "idle",
            activity: Some(Activity::Idle),
            decided_by: "screen:claude",
        },
        Case {
            name: "starting",
            meta: live_meta(),
            signals: Signals { screen: screen(Screen::Starting, "drawing its first screen", ""), ..alive() },
            label: "starting",
            activity: Some(Activity::Starting),
            decided_by: "screen:claude",
        },
        Case {
            name: "tmux cannot be asked",
            meta: live_meta(),
            signals: Signals { tmux_error: Some("tmux is not installed".into()), ..Signals::new(NOW) },
            label: "tmux unavailable",
            activity: None,
            decided_by: "tmux",
        },
        Case {
            name: "a failing classify is reported",
            meta: live_meta(),
            signals: Signals {
                screen: Some(ScreenSignal::Failed {
                    plugin: "gemini-runner".into(),
                    error: "E_PLUGIN_TRAP: trapped in classify".into(),
                }),
                ..alive()
            },
            label: "running",
            activity: Some(Activity::Unknown),
            decided_by: "screen:gemini-runner",
        },
        Case {
            name: "ungranted runner bytes are not run",
            meta: live_meta(),
            signals: Signals { screen: Some(ScreenSignal::NotGranted { plugin: "pinned".into() }), ..alive() },
            label: "running",
            activity: Some(Activity::Unknown),
            decided_by: "tmux",
        },
    ]
}

#[test]
fn precedence_table() {
    for case in cases() {
        let status = derive(&case.meta, &case.signals);
        assert_eq!(status.label, case.label, "{}: {status:?}", case.name);
        assert_eq!(status.activity, case.activity, "{}", case.name);
        assert_eq!(status.decided_by, case.decided_by, "{}", case.name);
        assert!(!status.reason.is_empty(), "{}", case.name);
    }
}

#[test]
fn tones_follow_the_label_not_its_spelling() {
    let tone = |signals: Signals| derive(&live_meta(), &signals).tone;
    assert_eq!(tone(Signals { screen: screen(Screen::NeedsInput, "q", "?"), ..alive() }), Tone::NeedsYou);
    assert_eq!(tone(Signals { screen: screen(Screen::Error, "e", "!"), ..alive() }), Tone::Problem);
    assert_eq!(tone(Signals { screen: screen(Screen::Working, "w", "…"), ..alive() }), Tone::Active);
    assert_eq!(tone(Signals::new(NOW)), Tone::Problem, "session gone");
}

#[test]
fn reasons_are_one_terminal_safe_line() {
    let signals = Signals {
        screen: screen(Screen::NeedsInput, "forged\nrow", &format!("x{}\x1b[2Jy", " ".repeat(150))),
        ..alive()
    };
    let status = derive(&live_meta(), &signals);
    assert!(!status.reason.contains('\n') && !status.reason.contains('\x1b'), "{:?}", status.reason);
    assert!(status.reason.len() < 320, "{:?}", status.reason);
    // A runner name from a record reaches `decided_by` when its plugin cannot be found.
    let failed = Signals {
        screen: Some(ScreenSignal::Failed { plugin: format!("forged\n\x1b[2J{}", "r".repeat(200)), error: "e".into() }),
        ..alive()
    };
    let status = derive(&live_meta(), &failed);
    let by = &status.decided_by;
    assert!(!by.contains('\n') && !by.contains('\x1b') && by.len() <= 90, "{by:?}");
    assert!(!status.reason.contains('\x1b'), "{:?}", status.reason);
}

#[test]
fn reasons_carry_the_evidence() {
    let signals =
        Signals { screen: screen(Screen::NeedsInput, "permission prompt", "Do you want to proceed?"), ..alive() };
    let status = derive(&live_meta(), &signals);
    assert_eq!(status.reason, "claude runner saw permission prompt at 14:30: 'Do you want to proceed?'");
    let invalid = derive(&live_meta(), &Signals { status_file: StatusFile::Invalid("bad".into()), ..alive() });
    assert!(invalid.reason.contains("status file ignored: bad"));
    assert_eq!(invalid.status_file_error.as_deref(), Some("bad"));
}

#[test]
fn status_file_contract() {
    let template = "TEMPLATE";
    let ok = r#"{"schema_version":"1.0","status":"needs_input","updated_at":"2026-11-25T14:02:00Z","summary":"s","questions":["q?"]}"#;
    assert!(matches!(parse_status_file(ok, template), StatusFile::Report(r) if r.questions == ["q?"]));
    let cases = [
        ("{", "not JSON"),
        (
            r#"{"schema_version":"2.0","status":"working","updated_at":"2026-11-25T14:02:00Z","summary":"s"}"#,
            "schema_version",
        ),
        (
            r#"{"schema_version":"1.0","status":"done","updated_at":"2026-11-25T14:02:00Z","summary":"s"}"#,
            "unknown status",
        ),
        (r#"{"schema_version":"1.0","status":"working","updated_at":"yesterday","summary":"s"}"#, "updated_at"),
        (
            r#"{"schema_version":"1.0","status":"needs_input","updated_at":"2026-11-25T14:02:00Z","summary":"s"}"#,
            "without questions",
        ),
        (
            r#"{"schema_version":"1.0","status":"blocked","updated_at":"2026-11-25T14:02:00Z","summary":"s"}"#,
            "without blockers",
        ),
        (
            r#"{"schema_version":"1.0","status":"ready_for_review","updated_at":"2026-11-25T14:02:00Z","summary":"s"}"#,
            "without how_to_test",
        ),
    ];
    for (text, needle) in cases {
        assert!(matches!(parse_status_file(text, template), StatusFile::Invalid(e) if e.contains(needle)), "{text}");
    }
    let templ =
        r#"{"schema_version":"1.0","status":"working","updated_at":"2026-11-25T14:02:00Z","summary":"TEMPLATE"}"#;
    assert_eq!(parse_status_file(templ, template), StatusFile::Template);
}
