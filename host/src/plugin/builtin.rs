//! The built-in plugins, compiled from `plugins/` by the build script and embedded in the
//! binary. They carry the same capability declarations as any plugin and pass through the same
//! checker; their default grant is exactly what they declare.

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// The embedded component of built-in `id` and its sha256 (computed at build time).
pub fn bytes(id: &str) -> Option<(&'static [u8], &'static str)> {
    BUILTINS.iter().find(|(name, _, _)| *name == id).map(|(_, bytes, sha)| (*bytes, *sha))
}

/// Ids of all built-in plugins.
pub fn ids() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|(id, _, _)| *id)
}

/// Recorded screens shipped for built-in runner `id`: (file name, text).
pub fn screens(id: &str) -> Vec<(&'static str, &'static str)> {
    SCREENS.iter().filter(|(plugin, _, _)| *plugin == id).map(|(_, name, text)| (*name, *text)).collect()
}
