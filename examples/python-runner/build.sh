#!/bin/sh
# Build the Python example runner: needs componentize-py (pip install componentize-py).
set -eu
cd "$(dirname "$0")"
componentize-py -d wit/since_v0.2.0 -w runner-plugin componentize app -o aider_py.wasm
