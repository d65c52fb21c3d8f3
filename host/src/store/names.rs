//! Run names and ids: validation of user-chosen names, names derived from a title, and run ids
//! (`<UTC yyyymmddhhmmss>-<4 random hex>`; the hex part is the "short id" in branch names).

use crate::error::{AgencyError, ErrorCode, Result};

pub const MAX_NAME_LEN: usize = 40;

/// Names: 1–40 of `a-z 0-9 -`, starting and ending with a letter or digit.
pub fn validate_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if valid {
        return Ok(());
    }
    let suggestion = slugify(name);
    let hint = if suggestion.is_empty() {
        "use lowercase letters, digits and single hyphens, e.g. --name fix-login".to_string()
    } else {
        format!("--name {suggestion}")
    };
    Err(AgencyError::new(
        ErrorCode::InvalidName,
        format!("invalid run name {name:?}: use 1–{MAX_NAME_LEN} of a-z, 0-9 and single hyphens, starting and ending with a letter or digit"),
    )
    .with_hint(hint))
}

/// Lowercase ASCII slug of `text`: letters and digits, single hyphens, at most 30 chars.
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 30 {
            break;
        }
    }
    slug.trim_end_matches('-').to_string()
}

/// A name derived from the title (or `run-<shortid>`), made unique with the short id if taken.
pub fn derive_name(title: Option<&str>, short_id: &str, taken: impl Fn(&str) -> bool) -> String {
    let base = title.map(slugify).filter(|s| !s.is_empty());
    match base {
        Some(base) if !taken(&base) => base,
        Some(base) => format!("{base}-{short_id}"),
        None => format!("run-{short_id}"),
    }
}

/// Ports reserved per run, from `PORT_FIRST` upwards.
pub const PORTS_PER_RUN: u16 = 10;
const PORT_FIRST: u16 = 20000;
const PORT_LAST: u16 = 59990;

/// The lowest port block not used by any of `taken` (blocks of [`PORTS_PER_RUN`]).
pub fn free_port_base(taken: &[u16]) -> Option<u16> {
    (PORT_FIRST..=PORT_LAST).step_by(PORTS_PER_RUN as usize).find(|base| !taken.contains(base))
}

/// A fresh run id for the current time.
pub fn new_run_id() -> String {
    let mut bytes = [0u8; 2];
    // getrandom only fails without an OS entropy source; the pid keeps ids distinct then.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = (std::process::id() as u16).to_be_bytes();
    }
    format!("{}-{:02x}{:02x}", crate::clock::run_id_stamp(crate::clock::now()), bytes[0], bytes[1])
}

/// Whether `text` has the shape of a run id: 14 digits, `-`, 4 lowercase hex digits.
pub fn is_run_id(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 19
        && bytes[..14].iter().all(u8::is_ascii_digit)
        && bytes[14] == b'-'
        && bytes[15..].iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// The random part of a run id (`20261125164441-1a2b` → `1a2b`).
pub fn short_id(run_id: &str) -> &str {
    run_id.rsplit_once('-').map_or(run_id, |(_, s)| s)
}

/// The run's branch: `agency/<name>-<shortid>`.
pub fn branch_name(name: &str, run_id: &str) -> String {
    format!("agency/{name}-{}", short_id(run_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        for ok in ["a", "fix-login", "x1", "a-b-c"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a b", "a--b", "ü", &"a".repeat(41)] {
            assert_eq!(validate_name(bad).unwrap_err().code, ErrorCode::InvalidName, "{bad}");
        }
    }

    #[test]
    fn slugs_and_derived_names() {
        assert_eq!(slugify("Fix the Login bug!"), "fix-the-login-bug");
        assert_eq!(slugify("  ---  "), "");
        assert_eq!(derive_name(Some("Fix it"), "1a2b", |_| false), "fix-it");
        assert_eq!(derive_name(Some("Fix it"), "1a2b", |n| n == "fix-it"), "fix-it-1a2b");
        assert_eq!(derive_name(None, "1a2b", |_| false), "run-1a2b");
        assert_eq!(derive_name(Some("!!!"), "1a2b", |_| false), "run-1a2b");
        assert!(validate_name(&derive_name(Some(&"Long title ".repeat(10)), "1a2b", |_| true)).is_ok());
    }

    #[test]
    fn port_blocks() {
        assert_eq!(free_port_base(&[]), Some(20000));
        assert_eq!(free_port_base(&[20000, 20010]), Some(20020));
        assert_eq!(free_port_base(&[20010]), Some(20000));
    }

    #[test]
    fn run_ids() {
        let id = new_run_id();
        assert_eq!(id.len(), 19);
        assert_eq!(short_id(&id).len(), 4);
        assert_eq!(branch_name("fix", "20261125164441-1a2b"), "agency/fix-1a2b");
        assert!(is_run_id(&id) && is_run_id("20261125164441-1a2b"));
        for not_an_id in ["20261125164441-1A2B", "2026112516444-1a2b", "20261125164441_1a2b", "fix", ""] {
            assert!(!is_run_id(not_an_id), "{not_an_id}");
        }
    }
}
