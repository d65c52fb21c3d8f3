#!/usr/bin/env bash
# Record the screens the built-in runner plugins are tested against, from the real agent CLIs.
#
#   plugins/record-screens.sh [claude|codex|gemini|aider|opencode ...]   (default: the four built-ins)
#
# Needs the CLIs installed as `.ci/install-agents` does (AGENCY_AGENTS_DIR, default
# target/agents: node_modules/.bin/{claude,codex,gemini,opencode} and venv/bin/aider). Runs
# offline: every agent stops at the first-run, login, trust, retry and error screens it reaches
# without a network, and each scenario drives it there with seeded config files and keys
# (the same seeds the real-agent tests use), then captures the pane exactly as agency does
# (`tmux capture-pane -p -J`). Files are written as plugins/<id>/screens/<state>--<what>.txt
# with the scratch paths and fake keys scrubbed. <state> is what a person looking at the
# screen would say: starting, working, needs-input, idle, error, exited.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
AGENTS=${AGENCY_AGENTS_DIR:-$ROOT/target/agents}
export PATH="$AGENTS/node_modules/.bin:$AGENTS/venv/bin:$PATH"
# Codex refuses to put helper binaries under /tmp: keep the scratch worlds elsewhere.
SCRATCH=${AGENCY_RECORD_DIR:-/var/tmp/agency-record-screens}
SOCKET="agency-record-$$"
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"
trap 'tmux -L "$SOCKET" kill-server 2>/dev/null || true' EXIT

FAKE_ANTHROPIC=sk-ant-fake-recording-key-0000
FAKE_OPENAI=sk-fake-recording-key-0000
FAKE_GEMINI=fake-gemini-recording-key

# A scratch world per scenario: a HOME with a git identity and a one-commit repository.
world() {
  local w="$SCRATCH/$1"
  mkdir -p "$w/home" "$w/repo"
  HOME="$w/home" git config --global user.name agency
  HOME="$w/home" git config --global user.email agency@example.invalid
  (cd "$w/repo" && git init -q -b main && echo hello > README.md && git add . &&
    HOME="$w/home" git commit -qm initial)
  echo "$w"
}

# tmux helpers on the private server.
t() { tmux -L "$SOCKET" "$@"; }
start() { # start <session> <world> <env...> -- <command...>
  local s=$1 w=$2; shift 2
  local envs=(HOME="$w/home" TERM=xterm-256color LANG=C.UTF-8 PATH="$PATH")
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  t new-session -d -s "$s" -x 120 -y 40 -c "$w/repo" env -i "${envs[@]}" "$@"
  t set-option -t "$s" remain-on-exit on >/dev/null
}
screen() { t capture-pane -p -J -t "$1"; }
wait_for() { # wait_for <session> <text> [seconds]
  local deadline=$((SECONDS + ${3:-30}))
  until screen "$1" | grep -qF -- "$2"; do
    [ $SECONDS -lt $deadline ] || { echo "record: $1 never showed '$2'" >&2; screen "$1" >&2; return 1; }
    sleep 0.3
  done
}
keys() { local s=$1; shift; t send-keys -t "$s" "$@"; }
paste() { printf '%s' "$2" | t load-buffer -b "rec-$1" - && t paste-buffer -p -r -d -b "rec-$1" -t "$1"; }

# capture <session> <world> <plugin> <state--what>: scrubbed, trailing blanks trimmed.
capture() {
  local s=$1 w=$2 id=$3 name=$4 dir="$ROOT/plugins/$3/screens"
  [ "$id" = opencode ] && dir="$ROOT/examples/opencode-runner/screens"
  mkdir -p "$dir"
  screen "$s" | grep -v '^Pane is dead' | sed -e "s#$w/repo#~/src/demo#g" -e "s#$w/home#~#g" -e "s#$w#~#g" \
    -e "s#$FAKE_ANTHROPIC#sk-ant-…#g" -e "s#${FAKE_ANTHROPIC: -20}#…#g" -e "s#$FAKE_OPENAI#sk-…#g" \
    -e "s#$FAKE_GEMINI#…#g" -e 's/[[:space:]]*$//' | sed -e ':a' -e '/^\n*$/{$d;N;ba' -e '}' >"$dir/$name.txt"
  echo "recorded ${dir#$ROOT/}/$name.txt"
}

# capture_showing <session> <world> <plugin> <state--what> <text>: capture a frame that shows
# <text> (TUIs redraw in pieces; a frame caught mid-redraw is no screen a person saw).
capture_showing() {
  local tries=20
  until screen "$1" | grep -qF -- "$5"; do
    tries=$((tries - 1)); [ $tries -gt 0 ] || { echo "record: $1 lost '$5'" >&2; return 1; }
    sleep 0.2
  done
  capture "$1" "$2" "$3" "$4"
}

seed_claude() { # <world> <trust yes|no> <approve-key yes|no>
  python3 - "$1/home" "$1/repo" "$2" "$3" "${FAKE_ANTHROPIC: -20}" <<'PY'
import json, sys
home, repo, trust, key, tail = sys.argv[1:]
config = {"hasCompletedOnboarding": True, "theme": "dark", "autoUpdates": False, "projects": {}}
if key == "yes":
    config["customApiKeyResponses"] = {"approved": [tail], "rejected": []}
if trust == "yes":
    config["projects"][repo] = {"hasTrustDialogAccepted": True}
open(home + "/.claude.json", "w").write(json.dumps(config))
PY
}
seed_codex() { # <world> <trust yes|no>
  mkdir -p "$1/home/.codex"
  printf '{"OPENAI_API_KEY": "%s"}\n' "$FAKE_OPENAI" >"$1/home/.codex/auth.json"
  [ "$2" = yes ] && printf '[projects."%s"]\ntrust_level = "trusted"\n' "$1/repo" >"$1/home/.codex/config.toml"
  true
}
seed_gemini() { # <world> <trust yes|no> <auth yes|no>
  mkdir -p "$1/home/.gemini"
  [ "$2" = yes ] && printf '{"%s": "TRUST_FOLDER"}\n' "$1/repo" >"$1/home/.gemini/trustedFolders.json"
  [ "$3" = yes ] && echo '{"security":{"auth":{"selectedType":"gemini-api-key"}},"general":{"disableAutoUpdate":true}}' \
    >"$1/home/.gemini/settings.json"
  true
}
# A closed local port: API calls fail at once ("connection refused") instead of waiting on DNS.
DEAD_API=http://127.0.0.1:9
CLAUDE_ENV=(DISABLE_AUTOUPDATER=1 ANTHROPIC_BASE_URL=$DEAD_API)

record_claude() {
  local w
  w=$(world claude-offline)
  start c-offline "$w" "${CLAUDE_ENV[@]}" -- claude
  wait_for c-offline "Unable to connect to Anthropic services" && capture c-offline "$w" claude error--offline-preflight-unable-to-connect
  w=$(world claude-trust); seed_claude "$w" no yes
  start c-trust "$w" "${CLAUDE_ENV[@]}" ANTHROPIC_API_KEY=$FAKE_ANTHROPIC -- claude
  wait_for c-trust "Yes, I trust this folder" && capture c-trust "$w" claude needs-input--folder-trust
  w=$(world claude-key); seed_claude "$w" yes no
  start c-key "$w" "${CLAUDE_ENV[@]}" ANTHROPIC_API_KEY=$FAKE_ANTHROPIC -- claude
  wait_for c-key "Do you want to use this API key?" && capture c-key "$w" claude needs-input--api-key-dialog
  w=$(world claude-nologin); seed_claude "$w" yes yes
  start c-nologin "$w" "${CLAUDE_ENV[@]}" -- claude
  wait_for c-nologin "Not logged in" && capture c-nologin "$w" claude needs-input--not-logged-in-footer
  w=$(world claude-nologin-prompt); seed_claude "$w" yes yes
  start c-nologin-p "$w" "${CLAUDE_ENV[@]}" -- claude "say hi"
  wait_for c-nologin-p "Please run /login" && capture c-nologin-p "$w" claude needs-input--not-logged-in-after-prompt
  w=$(world claude-idle); seed_claude "$w" yes yes
  start c-idle "$w" "${CLAUDE_ENV[@]}" ANTHROPIC_API_KEY=$FAKE_ANTHROPIC -- claude
  wait_for c-idle "? for shortcuts" && sleep 1 && capture c-idle "$w" claude idle--prompt
  keys c-idle C-c && wait_for c-idle "again to exit" 5 && capture c-idle "$w" claude idle--press-ctrl-c-again
  w=$(world claude-retry); seed_claude "$w" yes yes
  start c-retry "$w" "${CLAUDE_ENV[@]}" ANTHROPIC_API_KEY=$FAKE_ANTHROPIC -- claude "say hi"
  wait_for c-retry "Retrying in" 40 && capture c-retry "$w" claude working--retrying-unable-to-connect
  keys c-retry Escape && sleep 2 && capture c-retry "$w" claude idle--prompt-restored-after-escape
  w=$(world claude-error); seed_claude "$w" yes yes
  start c-error "$w" "${CLAUDE_ENV[@]}" CLAUDE_CODE_MAX_RETRIES=1 ANTHROPIC_API_KEY=$FAKE_ANTHROPIC -- claude "say hi"
  wait_for c-error "API Error" 60 && sleep 1 && capture c-error "$w" claude error--api-error-back-at-prompt
  start c-exit "$w" "${CLAUDE_ENV[@]}" CLAUDE_CODE_MAX_RETRIES=1 ANTHROPIC_API_KEY=$FAKE_ANTHROPIC -- claude --continue
  wait_for c-exit "? for shortcuts" && paste c-exit "/exit" && sleep 0.5 && keys c-exit Enter
  wait_for c-exit "claude --resume" 15 && capture c-exit "$w" claude exited--resume-hint
}

record_codex() {
  local w
  w=$(world codex-signin)
  start x-signin "$w" -- codex --no-daemon
  wait_for x-signin "Sign in with ChatGPT" && capture x-signin "$w" codex needs-input--sign-in
  w=$(world codex-trust); seed_codex "$w" no
  start x-trust "$w" -- codex --no-daemon
  wait_for x-trust "Trust this folder?" && capture x-trust "$w" codex needs-input--folder-trust
  w=$(world codex-idle); seed_codex "$w" yes
  start x-idle "$w" -- codex --no-daemon
  wait_for x-idle "← for agents" && sleep 1 && capture x-idle "$w" codex idle--composer
  w=$(world codex-run); seed_codex "$w" yes
  start x-run "$w" -- codex --no-daemon "say hi"
  wait_for x-run "Ask Codex to do anything" && capture x-run "$w" codex starting--composer-before-first-turn
  wait_for x-run "Reconnecting" 40 && capture x-run "$w" codex working--reconnecting
  keys x-run Escape && wait_for x-run "Conversation interrupted" 10 && sleep 1 &&
    capture x-run "$w" codex idle--after-escape
  paste x-run "/quit" && sleep 0.5 && keys x-run Enter
  wait_for x-run "codex resume" 15 && capture x-run "$w" codex exited--resume-hint
  w=$(world codex-cc); seed_codex "$w" yes
  start x-cc "$w" -- codex --no-daemon "say hi"
  wait_for x-cc "Reconnecting" 40 && keys x-cc C-c && wait_for x-cc "Conversation interrupted" 10 && sleep 1 &&
    capture x-cc "$w" codex idle--after-ctrl-c-while-working
}

record_gemini() {
  local w
  w=$(world gemini-trust)
  start g-trust "$w" GEMINI_API_KEY=$FAKE_GEMINI -- gemini
  wait_for g-trust "Do you trust the files in this folder?" && capture g-trust "$w" gemini needs-input--folder-trust
  w=$(world gemini-auth); seed_gemini "$w" yes no
  start g-auth "$w" -- gemini
  wait_for g-auth "How would you like to authenticate" && capture g-auth "$w" gemini needs-input--auth-method
  keys g-auth Down Enter && wait_for g-auth "Enter Gemini API Key" 10 && capture g-auth "$w" gemini needs-input--api-key-entry
  w=$(world gemini-idle); seed_gemini "$w" yes yes
  start g-idle "$w" GEMINI_API_KEY=$FAKE_GEMINI -- gemini
  wait_for g-idle "Type your message" 30 && sleep 1 && capture g-idle "$w" gemini idle--input-prompt
  w=$(world gemini-run); seed_gemini "$w" yes yes
  start g-run "$w" GEMINI_API_KEY=$FAKE_GEMINI -- gemini -i "say hi"
  wait_for g-run "esc to cancel" 30 && capture g-run "$w" gemini working--thinking-network-retry
  keys g-run Escape && sleep 2 && capture g-run "$w" gemini idle--after-escape
  keys g-run C-c && sleep 0.3 && keys g-run C-c
  wait_for g-run "gemini --resume" 15 && capture g-run "$w" gemini exited--resume-hint
  w=$(world gemini-error); seed_gemini "$w" yes yes
  start g-error "$w" GEMINI_API_KEY=$FAKE_GEMINI -- gemini -i "say hi"
  wait_for g-error "API Error" 400 && sleep 1 && capture g-error "$w" gemini error--api-error-back-at-prompt
}

record_aider() {
  local w args=(--no-check-update --no-show-release-notes --no-auto-commits --analytics-disable)
  w=$(world aider-gitignore)
  start a-gitignore "$w" OPENAI_API_KEY=$FAKE_OPENAI -- aider "${args[@]}"
  wait_for a-gitignore "(Y)es/(N)o" 60 && capture a-gitignore "$w" aider needs-input--gitignore-question
  w=$(world aider-nokey)
  start a-nokey "$w" -- aider "${args[@]}" --no-gitignore
  wait_for a-nokey "(Y)es/(N)o" 60 && capture a-nokey "$w" aider needs-input--no-api-key-openrouter-question
  w=$(world aider-run)
  start a-run "$w" OPENAI_API_KEY=$FAKE_OPENAI OPENAI_API_BASE=$DEAD_API/v1 -- aider "${args[@]}" --no-gitignore
  wait_for a-run "Repo-map" 60 && sleep 2 && capture a-run "$w" aider idle--prompt
  paste a-run "say hi" && sleep 0.3 && keys a-run Enter
  wait_for a-run "Retrying in" 30 && capture a-run "$w" aider working--api-connection-retrying
  wait_for a-run "> " 600
  until screen a-run | grep -v '^\s*$' | tail -1 | grep -q '^>'; do sleep 1; done
  capture a-run "$w" aider error--api-errors-back-at-prompt
  keys a-run C-d && sleep 2
}

record_opencode() {
  local w
  w=$(world opencode)
  start o-run "$w" OPENAI_API_KEY=$FAKE_OPENAI OPENAI_BASE_URL=$DEAD_API/v1 -- opencode
  wait_for o-run "Ask anything" 60 && sleep 1 && capture o-run "$w" opencode idle--prompt
  paste o-run "say hi" && sleep 0.3 && keys o-run Enter
  wait_for o-run "esc interrupt" 20 && capture_showing o-run "$w" opencode working--busy "esc interrupt"
  wait_for o-run "retrying" 60 && capture_showing o-run "$w" opencode working--cannot-connect-retrying "retrying in"
  keys o-run Escape && sleep 0.3 && keys o-run Escape && sleep 2 && capture o-run "$w" opencode idle--after-escape-twice
}

agents=("$@")
[ ${#agents[@]} -gt 0 ] || agents=(claude codex gemini aider)
for agent in "${agents[@]}"; do
  command -v "$agent" >/dev/null || { echo "record: $agent is not installed under $AGENTS" >&2; exit 1; }
done
pids=()
for agent in "${agents[@]}"; do
  "record_$agent" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
