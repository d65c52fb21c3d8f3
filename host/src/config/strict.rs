//! A small strict reader over `serde_json::Value` objects: typed getters that remember which
//! keys were read, and `finish()` that rejects any other key. Errors carry the dotted field path
//! (`scripts.setup.timeout`) so users can find the problem.

use serde_json::{Map, Value};
use std::time::Duration;

use crate::error::{AgencyError, ErrorCode};

/// Reads one JSON object strictly.
pub struct Fields<'a> {
    path: String,
    map: &'a Map<String, Value>,
    seen: Vec<&'a str>,
    code: ErrorCode,
    file: &'static str,
}

pub type FieldResult<T> = Result<T, AgencyError>;

impl<'a> Fields<'a> {
    pub fn new(value: &'a Value, path: &str, code: ErrorCode, file: &'static str) -> FieldResult<Fields<'a>> {
        match value {
            Value::Object(map) => Ok(Fields { path: path.to_string(), map, seen: Vec::new(), code, file }),
            other => Err(invalid(code, file, path, &format!("must be an object, found {}", kind(other)))),
        }
    }

    fn field(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) }
    }

    pub fn error(&self, key: &str, problem: &str) -> AgencyError {
        invalid(self.code, self.file, &self.field(key), problem)
    }

    fn get(&mut self, key: &'a str) -> Option<&'a Value> {
        self.seen.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn opt_str(&mut self, key: &'a str) -> FieldResult<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.error(key, &format!("must be a string, found {}", kind(other)))),
        }
    }

    pub fn req_str(&mut self, key: &'a str) -> FieldResult<String> {
        self.opt_str(key)?.ok_or_else(|| self.error(key, "is required"))
    }

    pub fn opt_u64(&mut self, key: &'a str) -> FieldResult<Option<u64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
            Some(other) => Err(self.error(key, &format!("must be a non-negative integer, found {}", kind(other)))),
        }
    }

    pub fn opt_bool(&mut self, key: &'a str) -> FieldResult<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.error(key, &format!("must be true or false, found {}", kind(other)))),
        }
    }

    pub fn opt_array(&mut self, key: &'a str) -> FieldResult<Option<&'a Vec<Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.error(key, &format!("must be an array, found {}", kind(other)))),
        }
    }

    /// A nested object, read strictly with the same rules.
    pub fn opt_object(&mut self, key: &'a str) -> FieldResult<Option<Fields<'a>>> {
        let path = self.field(key);
        let (code, file) = (self.code, self.file);
        match self.get(key) {
            None => Ok(None),
            Some(v) => Fields::new(v, &path, code, file).map(Some),
        }
    }

    /// A duration string such as `90s`, `10m` or `1h30m`, between `min` and `max`.
    pub fn opt_duration(&mut self, key: &'a str, min: Duration, max: Duration) -> FieldResult<Option<Duration>> {
        let Some(text) = self.opt_str(key)? else {
            return Ok(None);
        };
        let d = humantime::parse_duration(&text)
            .map_err(|_| self.error(key, &format!("must be a duration such as \"90s\" or \"10m\", found {text:?}")))?;
        if d < min || d > max {
            return Err(self.error(
                key,
                &format!(
                    "must be between {} and {}, found {text:?}",
                    humantime::format_duration(min),
                    humantime::format_duration(max)
                ),
            ));
        }
        Ok(Some(d))
    }

    /// Keys and values of an object whose keys are free-form (maps such as `runners`).
    pub fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.map.iter()
    }

    /// Path of a child field, for nested readers built by callers.
    pub fn child_path(&self, key: &str) -> String {
        self.field(key)
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn file(&self) -> &'static str {
        self.file
    }

    /// Reject keys that were never read.
    pub fn finish(self) -> FieldResult<()> {
        match self.map.keys().find(|k| !self.seen.contains(&k.as_str())) {
            Some(unknown) => Err(invalid(self.code, self.file, &self.field(unknown), "is not a known field")),
            None => Ok(()),
        }
    }
}

/// Parse `text` as JSON and open its root object, which must carry `"version": 1`.
pub fn versioned_root(text: &str, code: ErrorCode, file: &'static str) -> FieldResult<Value> {
    // Editors on some systems save a byte-order mark; it carries no meaning in JSON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value =
        serde_json::from_str(text).map_err(|e| invalid(code, file, "", &format!("is not valid JSON ({e})")))?;
    let mut root = Fields::new(&value, "", code, file)?;
    match root.opt_u64("version")? {
        Some(1) => Ok(value),
        Some(v) => Err(root.error("version", &format!("must be 1, found {v}"))),
        None => Err(root.error("version", "is required (use 1)")),
    }
}

/// Largest configuration file agency reads.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Read a configuration file: `Ok(None)` when it does not exist; an error when it is not a
/// regular file (a FIFO would block every command, `/dev/zero` never ends) or is too large.
pub fn read_config_file(path: &std::path::Path, code: ErrorCode) -> FieldResult<Option<String>> {
    let bytes = crate::store::read::read_capped(path, MAX_CONFIG_BYTES)
        .map_err(|e| AgencyError::io(code, "cannot read", path, e))?;
    let Some(bytes) = bytes else { return Ok(None) };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| AgencyError::new(code, format!("{} is not valid UTF-8", path.display())))
}

pub fn invalid(code: ErrorCode, file: &str, field: &str, problem: &str) -> AgencyError {
    let message = if field.is_empty() { format!("{file}: {problem}") } else { format!("{file}: `{field}` {problem}") };
    AgencyError::new(code, message).with_detail("field", if field.is_empty() { "(root)" } else { field })
}

pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_and_mistyped_fields_are_named() {
        let v = json!({"a": "x", "nested": {"b": 1, "zzz": true}});
        let mut f = Fields::new(&v, "", ErrorCode::InvalidAgencyJson, "agency.json").unwrap();
        assert_eq!(f.req_str("a").unwrap(), "x");
        let mut nested = f.opt_object("nested").unwrap().unwrap();
        let err = nested.opt_str("b").unwrap_err();
        assert!(err.message.contains("`nested.b` must be a string"), "{}", err.message);
        let _ = nested.opt_u64("b");
        let err = nested.finish().unwrap_err();
        assert!(err.message.contains("`nested.zzz` is not a known field"), "{}", err.message);
    }
}
