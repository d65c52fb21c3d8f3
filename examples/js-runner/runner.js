// Example runner in JavaScript: aider, like examples/aider-runner, built with componentize-js.
// Build: npm install && node build.mjs   → aider_js.wasm
// Check: agency plugin test aider_js.wasm --screens ../aider-runner/screens

const tail = (screen, n) => screen.split('\n').filter((l) => l.trim() !== '').slice(-n);
const find = (screen, n, needles) => tail(screen, n).reverse().find((l) => needles.some((s) => l.includes(s)));
const observe = (activity, reason, evidence) => ({ activity, reason, evidence: evidence ? evidence.trim() : undefined });

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
    if (request.mode === 'headless') {
      if (request.prompt === undefined) {
        throw { kind: 'invalid-config', message: 'a headless aider run needs --prompt' };
      }
      const args = ['--message', request.prompt, '--yes-always', '--no-pretty', '--no-fancy-input'];
      return { command: { program: 'aider', args, env, cwd: run.worktree } };
    }
    const command = { program: 'aider', args: [], env, cwd: run.worktree };
    if (request.prompt === undefined) {
      return { command };
    }
    return { command, readyPattern: '> ', sendAfterReady: request.prompt };
  },

  classify(screen) {
    let line = find(screen, 3, ['(Y)es/(N)o']);
    if (line) return observe('needs-input', 'confirmation question', line);
    line = find(screen, 5, ['rate limited you']);
    if (line) return observe('needs-input', 'rate limited by the API provider', line);
    line = find(screen, 3, ['Waiting for ', 'Updating repo map', 'Retrying in ']);
    if (line) return observe('working', 'waiting for the model', line);
    const last = tail(screen, 1)[0];
    if (last !== undefined && last.trimEnd().endsWith('>')) return observe('idle', 'at the aider prompt', last);
    return observe('unknown', 'no aider marker on screen');
  },
};
