//! Project set-up, diagnostics and plugin administration: `init`, `doctor`, the plugin list/
//! add/trust/remove commands, and the authoring tools (`plugin new`, the conformance kit).
//! None of these write run records; they sit beside the run pipelines, not inside them.

pub mod conformance;
pub mod doctor;
pub mod init;
pub mod plugin_admin;
pub mod plugin_new;
