"""Example runner in Python: aider, like examples/aider-runner, built with componentize-py.

Build:  componentize-py -d wit/since_v0.1.0 -w runner-plugin componentize app -o aider_py.wasm
Check:  agency plugin test aider_py.wasm --screens ../aider-runner/screens
"""

from wit_world import exports
from wit_world.imports import types
from wit_world.exports import runner
from componentize_py_types import Err


def _exec(program, args):
    return types.Capability_Exec(types.ExecCapability(program=program, args=args))


def _tail(screen, n):
    lines = [line for line in screen.splitlines() if line.strip()]
    return lines[-n:]


def _find(screen, n, needles):
    for line in reversed(_tail(screen, n)):
        for needle in needles:
            if needle in line:
                return line
    return None


def _observe(activity, reason, evidence=None):
    return runner.Observation(activity=activity, reason=reason, evidence=evidence.strip() if evidence else None)


class Runner(exports.Runner):
    def info(self):
        return types.PluginInfo(
            id="aider-py",
            version="0.1.0",
            description="aider, written in Python (example)",
            kind=types.PluginKind.RUNNER,
            capabilities=[
                _exec("aider", ["**"]),
                types.Capability_Env("OPENAI_API_KEY"),
                types.Capability_Fs(types.FsCapability(area=types.Area.WORKTREE, access=types.Access.READ)),
            ],
        )

    def plan(self, run, request):
        env = [types.EnvVar(name="OPENAI_API_KEY", value=types.EnvValue_Host("OPENAI_API_KEY"))]
        if request.mode == runner.Mode.HEADLESS:
            if request.prompt is None:
                raise Err(types.Error(kind=types.ErrorKind.INVALID_CONFIG, message="a headless aider run needs --prompt", hint=None))
            args = ["--message", request.prompt, "--yes-always", "--no-pretty", "--no-fancy-input"]
            command = types.Command(program="aider", args=args, env=env, cwd=run.worktree)
            return runner.LaunchPlan(command=command, stdin=None, ready_pattern=None, send_after_ready=None)
        command = types.Command(program="aider", args=[], env=env, cwd=run.worktree)
        ready = "> " if request.prompt is not None else None
        return runner.LaunchPlan(command=command, stdin=None, ready_pattern=ready, send_after_ready=request.prompt)

    def classify(self, screen):
        line = _find(screen, 3, ["(Y)es/(N)o"])
        if line:
            return _observe(runner.Activity.NEEDS_INPUT, "confirmation question", line)
        line = _find(screen, 5, ["rate limited you"])
        if line:
            return _observe(runner.Activity.NEEDS_INPUT, "rate limited by the API provider", line)
        line = _find(screen, 3, ["Waiting for ", "Updating repo map", "Retrying in "])
        if line:
            return _observe(runner.Activity.WORKING, "waiting for the model", line)
        tail = _tail(screen, 1)
        if tail and tail[-1].rstrip().endswith(">"):
            return _observe(runner.Activity.IDLE, "at the aider prompt", tail[-1])
        return _observe(runner.Activity.UNKNOWN, "no aider marker on screen")
