//! Configuration: the per-repo `agency.json` (committed, version 1) and the per-user
//! `config.json` in the config dir (version 1). Both are validated strictly: unknown keys, wrong
//! types and unsafe paths are errors that name the offending field.

pub mod agency_json;
pub mod strict;
pub mod user;

pub use agency_json::{AgencyJson, PluginPin, ScriptConfig, StepConfig};
pub use user::UserConfig;

/// The three step phases around the core pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Setup,
    Verify,
    Archive,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::Setup, Phase::Verify, Phase::Archive];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Verify => "verify",
            Phase::Archive => "archive",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
