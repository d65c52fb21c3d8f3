"""Example runner in Python: aider (like the built-in `aider` runner), built with componentize-py
against plugin API 0.2.0.

Build:  componentize-py -d wit/since_v0.2.0 -w runner-plugin componentize app -o aider_py.wasm
Check:  agency plugin test aider_py.wasm --screens ../../plugins/aider/screens
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
    evidence = " ".join(evidence.split()) if evidence else None
    return runner.Observation(activity=activity, reason=reason, evidence=evidence, resume_session=None)


ERRORS = ["servers are down or overloaded", "rate limited you", "InternalServerError", "litellm."]
QUIET_START = ["--no-gitignore", "--analytics-disable", "--no-check-update", "--no-show-release-notes"]


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
        interrupt = runner.Interrupt_Keys(["C-c"])
        if request.mode == runner.Mode.HEADLESS:
            if request.prompt is None:
                raise Err(types.Error(kind=types.ErrorKind.INVALID_CONFIG, message="a headless aider run needs --prompt", hint=None))
            args = QUIET_START + ["--message", request.prompt, "--yes-always", "--no-pretty", "--no-fancy-input"]
            command = types.Command(program="aider", args=args, env=env, cwd=run.worktree)
            return runner.LaunchPlan(command=command, stdin=None, prompt=runner.PromptDelivery_Argv(),
                                     ready=runner.ReadyWhen_Idle(), interrupt=interrupt)
        command = types.Command(program="aider", args=QUIET_START, env=env, cwd=run.worktree)
        prompt = runner.PromptDelivery_Paste(request.prompt) if request.prompt is not None else runner.PromptDelivery_None_()
        return runner.LaunchPlan(command=command, stdin=None, prompt=prompt, ready=runner.ReadyWhen_Idle(), interrupt=interrupt)

    def classify(self, screen):
        line = _find(screen, 3, ["(Y)es/(N)o"])
        if line:
            return _observe(runner.Activity.NEEDS_INPUT, "confirmation question", line)
        line = _find(screen, 3, ["Waiting for ", "Updating repo map", "Retrying in "])
        if line:
            return _observe(runner.Activity.WORKING, "waiting for the model", line)
        tail = _tail(screen, 8)
        if tail and tail[-1].rstrip().endswith(">"):
            for earlier in reversed(tail[:-1]):
                if earlier.lstrip().startswith(">"):
                    break
                if any(e in earlier for e in ERRORS):
                    return _observe(runner.Activity.ERROR, "the last request failed", earlier)
            return _observe(runner.Activity.IDLE, "at the aider prompt", tail[-1])
        if not tail:
            return _observe(runner.Activity.STARTING, "nothing drawn yet")
        return _observe(runner.Activity.UNKNOWN, "no aider marker on screen")

    def headless_result(self, output, exit_code):
        lines = [line.strip() for line in output.splitlines() if line.strip()][-20:]
        for line in reversed(lines):
            if any(e in line for e in ERRORS):
                return runner.HeadlessOutcome(ok=False, message=line, resume_session=None)
        return runner.HeadlessOutcome(ok=exit_code == 0, message=lines[-1] if lines else None, resume_session=None)
