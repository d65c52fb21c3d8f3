//! Property tests (the stable-toolchain stand-in for fuzzing): the agency.json and user-config
//! parsers, meta.json and events.jsonl reading, ref resolution, name validation and the
//! capability checker are fed random input. Nothing may panic, and every rejection must be the
//! documented `E_…` error. Cases per property: 256 by default; run longer with
//! `PROPTEST_CASES=100000 cargo test -p agency --test cli test_properties`.

use proptest::prelude::*;
use std::path::PathBuf;

use agency::config::{AgencyJson, UserConfig};
use agency::error::ErrorCode;
use agency::plugin::api::{Access, Area, Capability};
use agency::plugin::checker::{AreaRoots, CommandRequest, Policy, Request, args_match, glob_match};
use agency::store::meta::{self, RunMeta};
use agency::store::names;
use agency::store::runs::{self, RunEntry};
use agency::store::{RunPaths, events};

/// Random JSON shaped like configuration: nested objects with plausible and random keys.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let key = prop_oneof![
        Just("version".to_string()),
        Just("scripts".to_string()),
        Just("setup".to_string()),
        Just("verify".to_string()),
        Just("path".to_string()),
        Just("timeout".to_string()),
        Just("steps".to_string()),
        Just("plugin".to_string()),
        Just("params".to_string()),
        Just("plugins".to_string()),
        Just("sha256".to_string()),
        Just("defaults".to_string()),
        Just("runner".to_string()),
        Just("runners".to_string()),
        Just("status".to_string()),
        "[a-z_]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        Just(serde_json::json!(1)),
        "[ -~]{0,12}".prop_map(serde_json::Value::String),
        prop_oneof![Just("10m"), Just("../x"), Just("/etc/passwd"), Just("scripts/a.sh"), Just("0s")]
            .prop_map(|s| serde_json::json!(s)),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn agency_json_never_panics_and_rejects_with_its_code(text in "\\PC{0,200}", value in json_value()) {
        for input in [text, value.to_string()] {
            if let Err(e) = AgencyJson::parse(&input) {
                prop_assert_eq!(e.code, ErrorCode::InvalidAgencyJson);
                prop_assert!(e.message.starts_with("agency.json"));
            }
        }
    }

    #[test]
    fn user_config_never_panics_and_rejects_with_its_code(text in "\\PC{0,200}", value in json_value()) {
        for input in [text, value.to_string()] {
            if let Err(e) = UserConfig::parse(&input) {
                prop_assert_eq!(e.code, ErrorCode::InvalidUserConfig);
            }
        }
    }

    #[test]
    fn valid_script_paths_are_accepted_and_escapes_refused(parts in prop::collection::vec("[a-z.]{1,6}", 1..4), absolute in any::<bool>()) {
        let path = format!("{}{}", if absolute { "/" } else { "" }, parts.join("/"));
        let text = serde_json::json!({"version": 1, "scripts": {"setup": {"path": path}}}).to_string();
        let escapes = absolute || parts.iter().any(|p| p == "..");
        prop_assert_eq!(AgencyJson::parse(&text).is_err(), escapes, "{}", path);
    }

    #[test]
    fn meta_reading_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.json");
        std::fs::write(&path, &bytes).unwrap();
        let _ = meta::read(&path);
    }

    #[test]
    fn meta_round_trips_with_unknown_fields(name in "[a-z]{1,12}", title in "\\PC{0,30}", extra_key in "x_[a-z]{1,8}", extra in json_value()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.json");
        let mut m = RunMeta { schema_version: "1.0".into(), run_id: "20260101000000-abcd".into(), name, title: Some(title), ..RunMeta::default() };
        m.extra.insert(extra_key, extra);
        meta::write(&path, &m).unwrap();
        prop_assert_eq!(meta::read(&path).unwrap(), m);
    }

    #[test]
    fn events_reading_never_panics_and_keeps_whole_lines(lines in prop::collection::vec("\\PC{0,80}", 0..10), names in prop::collection::vec("[a-z_]{1,10}", 0..5)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        for name in &names {
            events::append(&path, &events::Event::new("r", "x", name, serde_json::json!({}))).unwrap();
        }
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&lines.join("\n"));
        std::fs::write(&path, text).unwrap();
        let (read, _) = events::read(&path);
        prop_assert!(read.len() >= names.len());
        prop_assert!(read.iter().take(names.len()).map(|e| e.event.clone()).eq(names.iter().cloned()));
    }

    #[test]
    fn names_are_valid_exactly_when_they_follow_the_rule(name in "[a-z0-9-]{0,45}|\\PC{0,10}") {
        let rule = !name.is_empty()
            && name.len() <= 40
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-') && !name.ends_with('-') && !name.contains("--");
        match names::validate_name(&name) {
            Ok(()) => prop_assert!(rule),
            Err(e) => { prop_assert!(!rule); prop_assert_eq!(e.code, ErrorCode::InvalidName); }
        }
    }

    #[test]
    fn derived_names_are_always_valid(title in "\\PC{0,80}", short in "[0-9a-f]{4}", taken in any::<bool>()) {
        let name = names::derive_name(Some(&title), &short, |_| taken);
        prop_assert!(names::validate_name(&name).is_ok(), "{}", name);
    }

    #[test]
    fn ref_resolution_never_panics_and_follows_the_order(
        runs in prop::collection::vec(("[a-c]{1,2}", "[0-9]{2}", any::<bool>()), 0..8),
        reference in "[a-c0-9-]{0,4}",
    ) {
        let entries: Vec<RunEntry> = runs
            .iter()
            .enumerate()
            .map(|(i, (name, id, archived))| {
                let run_id = format!("{id}{i}");
                let mut m = RunMeta { schema_version: "1.0".into(), run_id: run_id.clone(), name: name.clone(), ..RunMeta::default() };
                if *archived {
                    m.archive = Some(Box::new(meta::Archive { archived_at: Some("t".into()), ..Default::default() }));
                }
                RunEntry { repo_id: "r".into(), run_id: run_id.clone(), paths: RunPaths::new(PathBuf::from(&run_id)), meta: Ok(Box::new(m)) }
            })
            .collect();
        match runs::resolve(&entries, &reference, runs::Resolve::LiveNames) {
            Ok(found) => {
                let by_name = found.is_live() && found.name() == Some(reference.trim());
                prop_assert!(by_name || found.run_id.starts_with(reference.trim()));
            }
            Err(e) => prop_assert!(matches!(e.code, ErrorCode::RunNotFound | ErrorCode::RunIdAmbiguous | ErrorCode::Usage)),
        }
    }

    #[test]
    fn argument_patterns_match_their_definition(patterns in prop::collection::vec(prop_oneof![Just("*".to_string()), Just("**".to_string()), "[ab]"], 0..4), args in prop::collection::vec("[ab]", 0..5)) {
        // Reference: `**` only counts as "the rest" in last position; elsewhere it is a literal.
        fn reference(p: &[String], a: &[String]) -> bool {
            match p.split_first() {
                None => a.is_empty(),
                Some((first, rest)) if first == "**" && rest.is_empty() => true,
                Some((first, rest)) => a.split_first().is_some_and(|(x, xs)| (first == "*" || first == x) && reference(rest, xs)),
            }
        }
        let stop = patterns.iter().position(|p| p == "**").map_or(patterns.len(), |i| i + 1);
        prop_assert_eq!(args_match(&patterns[..stop], &args), reference(&patterns[..stop], &args));
    }

    #[test]
    fn globs_never_panic(pattern in "[a*/.]{0,10}", path in "[a./]{0,12}") {
        let _ = glob_match(&pattern, &path);
    }

    #[test]
    fn the_checker_never_lets_a_program_escape_its_area(segments in prop::collection::vec(prop_oneof![Just("..".to_string()), Just("link".to_string()), Just("sub".to_string()), Just("run.sh".to_string())], 1..6)) {
        let dir = tempfile::tempdir().unwrap();
        let area = dir.path().join("wt");
        std::fs::create_dir_all(area.join("sub")).unwrap();
        std::fs::write(area.join("run.sh"), "").unwrap();
        std::fs::write(area.join("sub/run.sh"), "").unwrap();
        std::fs::write(dir.path().join("run.sh"), "").unwrap();
        std::os::unix::fs::symlink(dir.path(), area.join("link")).unwrap();
        std::os::unix::fs::symlink(dir.path(), area.join("sub/link")).unwrap();
        let roots = AreaRoots::new([(Area::Worktree, area.clone())]);
        let declared = [
            Capability::Exec { program: "worktree:**".into(), args: vec![] },
            Capability::Fs { area: Area::Worktree, access: Access::Read },
        ];
        let policy = Policy { declared: &declared, granted: &declared, areas: &roots };
        let program = area.join(segments.join("/"));
        let program_text = program.display().to_string();
        let request = CommandRequest { program: &program_text, args: &[], cwd: &area, env: &[], stdin: None };
        let allowed = policy.check(&Request::Exec(&request)).is_ok();
        let inside = program.canonicalize().is_ok_and(|p| p.starts_with(area.canonicalize().unwrap()));
        prop_assert_eq!(allowed, inside, "{}", program_text);
    }
}
