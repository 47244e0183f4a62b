#!/usr/bin/env bash
# Install gatekeeper into an isolated virtualenv from the action's own source.
#
# SECURITY: the source is the action checkout itself (pinned by the ref in `uses:`; pin it to
# a commit sha). Every dependency and the build backend are installed with
# `pip --require-hashes` from the lock files next to this script, so a compromised index or
# a moved tag on PyPI cannot change what runs. gatekeeper itself is built offline
# (`--no-index --no-build-isolation`) from that source.
set -euo pipefail

: "${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set (this script runs inside the action)}"
here="$GITHUB_ACTION_PATH/integrations/github"
venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/gatekeeper-venv"
python="${GATEKEEPER_PYTHON:-python3}"

"$python" -m venv --clear "$venv"
if [ -x "$venv/bin/python" ]; then
  vpy="$venv/bin/python"
else
  vpy="$venv/Scripts/python.exe"  # Windows runners
fi
pip=("$vpy" -m pip install --disable-pip-version-check --no-input --quiet)
"${pip[@]}" --require-hashes -r "$here/build.lock"
"${pip[@]}" --require-hashes -r "$here/requirements.lock"
"${pip[@]}" --no-deps --no-index --no-build-isolation "$GITHUB_ACTION_PATH"
"$vpy" -m gatekeeper --version

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "python=$vpy" >> "$GITHUB_OUTPUT"
fi
