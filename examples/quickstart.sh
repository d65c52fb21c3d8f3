#!/usr/bin/env bash
# Quick start: build agency, make a scratch repository, set it up, and start a real run with the
# `shell` runner in a private tmux server. Everything lives under one temp dir printed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --manifest-path "$here/Cargo.toml" -q
agency="$here/target/release/agency"

scratch=$(mktemp -d)
export AGENCY_DATA_DIR="$scratch/data" AGENCY_CONFIG_DIR="$scratch/config" AGENCY_CACHE_DIR="$scratch/cache"
export AGENCY_TMUX_SOCKET="agency-quickstart"
mkdir -p "$AGENCY_CONFIG_DIR"
echo '{"version": 1, "defaults": {"runner": "shell"}}' > "$AGENCY_CONFIG_DIR/config.json"

git init -q -b main "$scratch/repo" && cd "$scratch/repo"
git -c user.name=you -c user.email=you@example.invalid commit -q --allow-empty -m "initial commit"
"$agency" init
git add -A && git -c user.name=you -c user.email=you@example.invalid commit -q -m "Set up agency"
"$agency" run --name hello --title "Say hello" --detached
"$agency" ls
"$agency" show hello

cat <<MSG

Scratch repository: $scratch/repo
Attach to the run:  AGENCY_DATA_DIR=$AGENCY_DATA_DIR AGENCY_CONFIG_DIR=$AGENCY_CONFIG_DIR AGENCY_CACHE_DIR=$AGENCY_CACHE_DIR AGENCY_TMUX_SOCKET=$AGENCY_TMUX_SOCKET $agency attach hello
Clean up:           tmux -L $AGENCY_TMUX_SOCKET kill-server; rm -rf $scratch

To put agency on your PATH:   cargo install --locked --path $here/host
Shell completions:            agency completion bash > ~/.local/share/bash-completion/completions/agency
MSG
