// Example runner in JavaScript: aider (like the built-in `aider` runner), built with
// componentize-js against plugin API 0.2.0.
// Build: npm install && node build.mjs   → aider_js.wasm
// Check: agency plugin test aider_js.wasm --screens ../../plugins/aider/screens

const tail = (screen, n) => screen.split('\n').filter((l) => l.trim() !== '').slice(-n);
const find = (screen, n, needles) => tail(screen, n).reverse().find((l) => needles.some((s) => l.includes(s)));
const observe = (activity, reason, evidence) => ({
  activity,
  reason,
  evidence: evidence ? evidence.trim().split(/\s+/).join(' ') : undefined,
});
const ERRORS = ['servers are down or overloaded', 'rate limited you', 'InternalServerError', 'litellm.'];
const QUIET_START = ['--no-gitignore', '--analytics-disable', '--no-check-update', '--no-show-release-notes'];

export const runner = {
  info() {
    return {
      id: 'aider-js',
      version: '0.1.0',
      description: 'aider, written in JavaScript (example)',
      kind: 'runner',
      capabilities: [
        { tag: 'exec', val: { program: 'aider', args: ['**'] } },
        { tag: 'env', val: 'OPENAI_API_KEY' },
        { tag: 'fs', val: { area: 'worktree', access: 'read' } },
      ],
    };
  },

  plan(run, request) {
    const env = [{ name: 'OPENAI_API_KEY', value: { tag: 'host', val: 'OPENAI_API_KEY' } }];
    const interrupt = { tag: 'keys', val: ['C-c'] };
    const ready = { tag: 'idle' };
    if (request.mode === 'headless') {
      if (request.prompt === undefined) {
        throw { kind: 'invalid-config', message: 'a headless aider run needs --prompt' };
      }
      const args = [...QUIET_START, '--message', request.prompt, '--yes-always', '--no-pretty', '--no-fancy-input'];
      return { command: { program: 'aider', args, env, cwd: run.worktree }, prompt: { tag: 'argv' }, ready, interrupt };
    }
    const command = { program: 'aider', args: QUIET_START, env, cwd: run.worktree };
    const prompt = request.prompt === undefined ? { tag: 'none' } : { tag: 'paste', val: request.prompt };
    return { command, prompt, ready, interrupt };
  },

  classify(screen) {
    let line = find(screen, 3, ['(Y)es/(N)o']);
    if (line) return observe('needs-input', 'confirmation question', line);
    line = find(screen, 3, ['Waiting for ', 'Updating repo map', 'Retrying in ']);
    if (line) return observe('working', 'waiting for the model', line);
    const recent = tail(screen, 8);
    const last = recent[recent.length - 1];
    if (last !== undefined && last.trimEnd().endsWith('>')) {
      for (const earlier of recent.slice(0, -1).reverse()) {
        if (earlier.trimStart().startsWith('>')) break;
        if (ERRORS.some((e) => earlier.includes(e))) return observe('error', 'the last request failed', earlier);
      }
      return observe('idle', 'at the aider prompt', last);
    }
    if (last === undefined) return observe('starting', 'nothing drawn yet');
    return observe('unknown', 'no aider marker on screen');
  },

  headlessResult(output, exitCode) {
    const lines = tail(output, 20).map((l) => l.trim());
    const error = [...lines].reverse().find((l) => ERRORS.some((e) => l.includes(e)));
    if (error) return { ok: false, message: error };
    return { ok: exitCode === 0, message: lines[lines.length - 1] };
  },
};
