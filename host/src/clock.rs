//! Timestamps as the records spell them: RFC 3339 UTC with second precision
//! (`2026-11-25T16:44:41Z`), run-id stamps (`20261125164441`) and short human durations.

use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// RFC 3339 UTC, whole seconds.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

pub fn now_rfc3339() -> String {
    rfc3339(now())
}

pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// `yyyymmddhhmmss` in UTC, the first half of a run id.
pub fn run_id_stamp(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year][month][day][hour][minute][second]");
    t.to_offset(time::UtcOffset::UTC).format(&fmt).unwrap_or_default()
}

/// `850ms`, `12s`, `3m05s`, `2h07m`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => format!("{}ms", d.as_millis()),
        1..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// How long ago `t` was, for listings: `12s ago`, `5m ago`, `3h ago`, `2d ago`.
pub fn ago(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (now - t).whole_seconds().max(0);
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip() {
        let t = time::macros::datetime!(2026-11-25 16:44:41.123 UTC);
        assert_eq!(rfc3339(t), "2026-11-25T16:44:41Z");
        assert_eq!(run_id_stamp(t), "20261125164441");
        assert_eq!(parse_rfc3339("2026-11-25T16:44:41Z").map(rfc3339).as_deref(), Some("2026-11-25T16:44:41Z"));
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(format_duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(format_duration(Duration::from_secs(7620)), "2h07m");
    }
}
