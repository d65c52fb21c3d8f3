//! What every API version's `types` and `host` interfaces have in common. The generated types
//! of two frozen folders are distinct Rust types with the same shape, so the conversions are
//! written once here, as a macro each adapter expands over its own generated modules.

/// Expand inside an adapter module where `types` and `host` name that version's generated
/// `agency:plugin/types` and `agency:plugin/host` modules.
macro_rules! shared_conversions {
    () => {
        impl types::Host for State {}

        impl host::Host for State {
            fn log(&mut self, level: types::LogLevel, message: String) {
                let level = match level {
                    types::LogLevel::Debug => api::LogLevel::Debug,
                    types::LogLevel::Info => api::LogLevel::Info,
                    types::LogLevel::Warn => api::LogLevel::Warn,
                    types::LogLevel::Error => api::LogLevel::Error,
                };
                self.host_log(level, &message);
            }

            fn exec(&mut self, cmd: types::Command, timeout_ms: u32) -> Result<types::ExecResult, types::Error> {
                self.host_exec(cmd.into(), timeout_ms)
                    .map(|r| types::ExecResult {
                        exit_code: r.exit_code,
                        timed_out: r.timed_out,
                        duration_ms: r.duration_ms,
                        output_tail: r.output_tail,
                    })
                    .map_err(|e| types::Error { kind: error_kind_to_wit(e.kind), message: e.message, hint: e.hint })
            }
        }

        fn error_kind_to_wit(kind: api::ErrorKind) -> types::ErrorKind {
            match kind {
                api::ErrorKind::InvalidConfig => types::ErrorKind::InvalidConfig,
                api::ErrorKind::Denied => types::ErrorKind::Denied,
                api::ErrorKind::Failed => types::ErrorKind::Failed,
                api::ErrorKind::Unsupported => types::ErrorKind::Unsupported,
            }
        }

        impl From<types::Error> for api::PluginError {
            fn from(e: types::Error) -> Self {
                let kind = match e.kind {
                    types::ErrorKind::InvalidConfig => api::ErrorKind::InvalidConfig,
                    types::ErrorKind::Denied => api::ErrorKind::Denied,
                    types::ErrorKind::Failed => api::ErrorKind::Failed,
                    types::ErrorKind::Unsupported => api::ErrorKind::Unsupported,
                };
                api::PluginError { kind, message: e.message, hint: e.hint }
            }
        }

        fn area(a: types::Area) -> api::Area {
            match a {
                types::Area::Worktree => api::Area::Worktree,
                types::Area::Repo => api::Area::Repo,
                types::Area::RunDir => api::Area::RunDir,
                types::Area::PluginData => api::Area::PluginData,
            }
        }

        impl From<types::PluginInfo> for api::PluginInfo {
            fn from(info: types::PluginInfo) -> Self {
                let capabilities = info
                    .capabilities
                    .into_iter()
                    .map(|c| match c {
                        types::Capability::Exec(e) => api::Capability::Exec { program: e.program, args: e.args },
                        types::Capability::Env(name) => api::Capability::Env(name),
                        types::Capability::Fs(fs) => api::Capability::Fs {
                            area: area(fs.area),
                            access: match fs.access {
                                types::Access::Read => api::Access::Read,
                                types::Access::Write => api::Access::Write,
                            },
                        },
                    })
                    .collect();
                let kind = match info.kind {
                    types::PluginKind::Runner => api::PluginKind::Runner,
                    types::PluginKind::Step => api::PluginKind::Step,
                };
                api::PluginInfo {
                    id: info.id,
                    version: info.version,
                    description: info.description,
                    kind,
                    capabilities,
                }
            }
        }

        impl From<&api::RunInfo> for types::RunInfo {
            fn from(r: &api::RunInfo) -> Self {
                types::RunInfo {
                    run_id: r.run_id.clone(),
                    name: r.name.clone(),
                    title: r.title.clone(),
                    repo_id: r.repo_id.clone(),
                    repo_root: r.repo_root.clone(),
                    worktree: r.worktree.clone(),
                    run_dir: r.run_dir.clone(),
                    log_dir: r.log_dir.clone(),
                    plugin_data: r.plugin_data.clone(),
                    branch: r.branch.clone(),
                    parent_branch: r.parent_branch.clone(),
                    runner: r.runner.clone(),
                    params: r.params.clone(),
                }
            }
        }

        impl From<types::Command> for api::CommandSpec {
            fn from(c: types::Command) -> Self {
                let env = c
                    .env
                    .into_iter()
                    .map(|v| {
                        let value = match v.value {
                            types::EnvValue::Literal(text) => api::EnvValue::Literal(text),
                            types::EnvValue::Host(name) => api::EnvValue::Host(name),
                        };
                        (v.name, value)
                    })
                    .collect();
                api::CommandSpec { program: c.program, args: c.args, env, cwd: c.cwd }
            }
        }

        impl From<step_api::Outcome> for api::Outcome {
            fn from(o: step_api::Outcome) -> Self {
                api::Outcome {
                    ok: o.ok,
                    summary: o.summary,
                    exit_code: o.exit_code,
                    timed_out: o.timed_out,
                    data: o.data,
                }
            }
        }

        fn linker(engine: &Engine) -> wasmtime::Result<Linker<State>> {
            let mut linker = Linker::new(engine);
            wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
            // Both worlds import the same `types` and `host` interfaces.
            runner_world::RunnerPlugin::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)?;
            Ok(linker)
        }

        /// A pre-instantiated plugin of this API version.
        pub enum Pre {
            Runner(runner_world::RunnerPluginPre<State>),
            Step(step_world::StepPluginPre<State>),
        }

        impl Pre {
            pub fn new(engine: &Engine, component: &Component, kind: api::PluginKind) -> wasmtime::Result<Pre> {
                let instance_pre = linker(engine)?.instantiate_pre(component)?;
                Ok(match kind {
                    api::PluginKind::Runner => Pre::Runner(runner_world::RunnerPluginPre::new(instance_pre)?),
                    api::PluginKind::Step => Pre::Step(step_world::StepPluginPre::new(instance_pre)?),
                })
            }

            pub fn info(&self, store: &mut Store<State>) -> wasmtime::Result<api::PluginInfo> {
                Ok(match self {
                    Pre::Runner(pre) => {
                        pre.instantiate(&mut *store)?.agency_plugin_runner().call_info(&mut *store)?.into()
                    }
                    Pre::Step(pre) => pre.instantiate(&mut *store)?.agency_plugin_step().call_info(&mut *store)?.into(),
                })
            }

            fn runner(&self) -> wasmtime::Result<&runner_world::RunnerPluginPre<State>> {
                match self {
                    Pre::Runner(pre) => Ok(pre),
                    Pre::Step(_) => Err(wasmtime::format_err!("not a runner plugin")),
                }
            }

            pub fn run_step(
                &self,
                store: &mut Store<State>,
                phase: api::Phase,
                run: &api::RunInfo,
            ) -> wasmtime::Result<Result<api::Outcome, api::PluginError>> {
                let Pre::Step(pre) = self else { return Err(wasmtime::format_err!("not a step plugin")) };
                let phase = match phase {
                    api::Phase::Setup => step_api::Phase::Setup,
                    api::Phase::Verify => step_api::Phase::Verify,
                    api::Phase::Archive => step_api::Phase::Archive,
                };
                let result =
                    pre.instantiate(&mut *store)?.agency_plugin_step().call_run(&mut *store, phase, &run.into())?;
                Ok(result.map(Into::into).map_err(Into::into))
            }
        }
    };
}

pub(crate) use shared_conversions;
