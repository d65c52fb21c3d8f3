//! Builders and small conveniences on the API types, so plugins read as plain Rust.

use crate::{
    Access, Area, Capability, Command, EnvValue, EnvVar, Error, ErrorKind, ExecCapability, ExecResult, FsCapability,
    HeadlessOutcome, Interrupt, LaunchPlan, Outcome, PluginInfo, PluginKind, PromptDelivery, ReadyWhen, RunInfo,
    Signal,
};

impl PluginInfo {
    fn new(kind: PluginKind, id: &str, version: &str, description: &str) -> Self {
        PluginInfo {
            id: id.into(),
            version: version.into(),
            description: description.into(),
            kind,
            capabilities: Vec::new(),
        }
    }

    /// Info for a runner plugin.
    pub fn runner(id: &str, version: &str, description: &str) -> Self {
        PluginInfo::new(PluginKind::Runner, id, version, description)
    }

    /// Info for a step plugin.
    pub fn step(id: &str, version: &str, description: &str) -> Self {
        PluginInfo::new(PluginKind::Step, id, version, description)
    }

    /// Declare one more capability.
    pub fn capability(mut self, capability: Capability) -> Self {
        self.capabilities.push(capability);
        self
    }
}

impl Capability {
    /// Run `program` with arguments matching `args` (`*` = one argument, `**` = the rest).
    pub fn exec(program: &str, args: &[&str]) -> Self {
        Capability::Exec(ExecCapability { program: program.into(), args: args.iter().map(|a| a.to_string()).collect() })
    }

    /// Forward the host variable `name` by name.
    pub fn env(name: &str) -> Self {
        Capability::Env(name.into())
    }

    pub fn read(area: Area) -> Self {
        Capability::Fs(FsCapability { area, access: Access::Read })
    }

    pub fn write(area: Area) -> Self {
        Capability::Fs(FsCapability { area, access: Access::Write })
    }
}

impl Command {
    pub fn new(program: &str) -> Self {
        Command { program: program.into(), args: Vec::new(), env: Vec::new(), cwd: None }
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Set `name` to a literal value.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push(EnvVar { name: name.into(), value: EnvValue::Literal(value.into()) });
        self
    }

    /// Forward the host's value of `name` (needs the `env` capability; never seen by the plugin).
    pub fn env_from_host(mut self, name: &str) -> Self {
        self.env.push(EnvVar { name: name.into(), value: EnvValue::Host(name.into()) });
        self
    }

    pub fn cwd(mut self, dir: &str) -> Self {
        self.cwd = Some(dir.into());
        self
    }
}

impl LaunchPlan {
    /// Start `command`; no prompt; ready when `classify` reads idle; `agency stop` sends
    /// Ctrl-C (say how your agent really interrupts with [`LaunchPlan::interrupt_keys`]).
    pub fn new(command: Command) -> Self {
        LaunchPlan {
            command,
            stdin: None,
            prompt: PromptDelivery::None,
            ready: ReadyWhen::Idle,
            interrupt: Interrupt::Keys(vec!["C-c".into()]),
        }
    }

    /// The prompt is already among the command's arguments.
    pub fn prompt_in_argv(mut self) -> Self {
        self.prompt = PromptDelivery::Argv;
        self
    }

    /// Feed `text` on standard input (headless runs); it is the prompt.
    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.into());
        self.prompt = PromptDelivery::Stdin;
        self
    }

    /// Paste `text` as one bracketed paste (then Enter) once `classify` reads idle.
    pub fn paste_when_idle(mut self, text: &str) -> Self {
        self.prompt = PromptDelivery::Paste(text.into());
        self.ready = ReadyWhen::Idle;
        self
    }

    /// Paste `text` (then Enter) once `pattern` shows on screen.
    pub fn paste_when_shown(mut self, pattern: &str, text: &str) -> Self {
        self.prompt = PromptDelivery::Paste(text.into());
        self.ready = ReadyWhen::Text(pattern.into());
        self
    }

    /// `agency stop` sends these tmux keys (e.g. `["Escape"]`).
    pub fn interrupt_keys(mut self, keys: &[&str]) -> Self {
        self.interrupt = Interrupt::Keys(keys.iter().map(|k| k.to_string()).collect());
        self
    }

    /// `agency stop` sends this signal to the agent's process group.
    pub fn interrupt_signal(mut self, signal: Signal) -> Self {
        self.interrupt = Interrupt::Signal(signal);
        self
    }
}

impl HeadlessOutcome {
    /// What most agents' output says: success is exit code 0, and the message is the last
    /// non-empty line.
    pub fn from_exit(output: &str, exit_code: Option<i32>) -> Self {
        let last = output.lines().rev().map(str::trim).find(|l| !l.is_empty()).map(String::from);
        HeadlessOutcome { ok: exit_code == Some(0), message: last, resume_session: None }
    }
}

impl Error {
    fn new(kind: ErrorKind, message: &str) -> Self {
        Error { kind, message: message.into(), hint: None }
    }

    pub fn failed(message: &str) -> Self {
        Error::new(ErrorKind::Failed, message)
    }

    pub fn invalid_config(message: &str) -> Self {
        Error::new(ErrorKind::InvalidConfig, message)
    }

    pub fn unsupported(message: &str) -> Self {
        Error::new(ErrorKind::Unsupported, message)
    }

    pub fn with_hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl RunInfo {
    /// A configuration parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A parameter holding a list (newline-separated in transport).
    pub fn param_list(&self, key: &str) -> Vec<String> {
        self.param(key)
            .map(|v| v.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
            .unwrap_or_default()
    }

    /// `timeout_ms` from the configuration, or `default`.
    pub fn timeout_ms(&self, default: u32) -> u32 {
        self.param("timeout_ms").and_then(|v| v.parse().ok()).unwrap_or(default)
    }
}

impl Outcome {
    pub fn ok(summary: &str) -> Self {
        Outcome { ok: true, summary: summary.into(), exit_code: None, timed_out: false, data: None }
    }

    pub fn failed(summary: &str) -> Self {
        Outcome { ok: false, ..Outcome::ok(summary) }
    }

    /// An outcome from a command's result: ok when it exited 0 in time.
    pub fn from_exec(result: &ExecResult, summary: &str) -> Self {
        Outcome {
            ok: result.exit_code == Some(0) && !result.timed_out,
            summary: summary.into(),
            exit_code: result.exit_code,
            timed_out: result.timed_out,
            data: None,
        }
    }
}

/// Split a command line into words: whitespace separates, single and double quotes group,
/// backslash escapes outside single quotes. No expansion of any kind.
pub fn split_words(line: &str) -> Result<Vec<String>, Error> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
        if quote.is_some() {
            in_word = true;
        }
    }
    if quote.is_some() {
        return Err(Error::invalid_config(&format!("unterminated quote in command {line:?}")));
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell_without_expansion() {
        assert_eq!(
            split_words("aider --model 'gpt 4' \"a b\" c\\ d").unwrap(),
            vec!["aider", "--model", "gpt 4", "a b", "c d"]
        );
        assert_eq!(split_words("  x  ''  ").unwrap(), vec!["x", ""]);
        assert!(split_words("x 'open").is_err());
    }
}
