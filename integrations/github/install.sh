#!/usr/bin/env bash
# Install gatekeeper into an isolated virtualenv from the action's own source.
#
#   install.sh prepare   # outputs: wheels (the wheel cache directory), cache-key
#   install.sh install   # outputs: python (the virtualenv's interpreter)
#
# SECURITY: the source is the action checkout itself (pinned by the ref in `uses:`; pin it to
# a commit sha). Every dependency is installed with `pip --require-hashes` from
# requirements.lock next to this script, from wheel files only, so a compromised index, a
# moved release on PyPI or a tampered cache cannot change what runs: the wheels kept in the
# Actions cache are checked against the lock's hashes on every install, and a cache that
# does not match is thrown away and downloaded again (hash-checked). gatekeeper itself is
# pure Python and is copied from the action source into the virtualenv (no build step).
# Every Python runs isolated (-I): neither the workspace (the repository under audit, the
# current directory) nor PYTHON* variables can put a module in front of the real ones.
set -euo pipefail

: "${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set (this script runs inside the action)}"
here="$GITHUB_ACTION_PATH/integrations/github"
lock="$here/requirements.lock"
tmp="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
venv="$tmp/gatekeeper-venv"
wheels="${GATEKEEPER_WHEELS:-$tmp/gatekeeper-wheels}"
python="${GATEKEEPER_PYTHON:-python3}"
pip_quiet=(--disable-pip-version-check --no-input --quiet)
# NOTE: no bytecode at install time (a third of a warm install): the modules a run imports
# are compiled when first imported.
pip_install=(install "${pip_quiet[@]}" --no-compile --require-hashes)

output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "$1=$2" >> "$GITHUB_OUTPUT"
  fi
  echo "$1=$2"
}

prepare() {
  # The cache key names everything a wheel depends on: the lock's content (its sha256), the
  # interpreter's version and ABI, and the platform.
  local key
  key=$("$python" -I -c '
import hashlib, sys, sysconfig
lock = hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()
tag = sys.implementation.cache_tag
print(f"gatekeeper-wheels-v1-{sysconfig.get_platform()}-{tag}-{lock}")
' "$lock")
  output wheels "$wheels"
  output cache-key "$key"
}

site_packages() {
  "$1" -I -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

# pip of the given interpreter, installing into the virtualenv. The outer interpreter's pip
# (--python, pip >= 22.3) saves seeding pip into the virtualenv; without it, the
# virtualenv gets its own.
venv_pip() {
  "${pip_cmd[@]}" "$@"
}

# The lock is the whole environment (every transitive pin, checked by
# tests/integrations/test_github_action.py), so pip installs exactly it and resolves nothing
# (--no-deps: no resolver run; the install is the lock, nothing more, nothing less).
from_wheels() {
  [ -d "$wheels" ] || return 1
  venv_pip "${pip_install[@]}" --no-deps --only-binary=:all: --no-index --find-links "$wheels" \
    -r "$lock"
}

# Whether the interpreter's own pip can install into another environment (--python).
outer_pip() {
  "$python" -I -c '
import sys
try:
    import pip
    major, minor = (int(x) for x in pip.__version__.split(".")[:2])
except Exception:
    sys.exit(1)
sys.exit(0 if (major, minor) >= (22, 3) else 1)
' 2>/dev/null
}

install() {
  local vpy
  if outer_pip; then
    "$python" -I -m venv --clear --without-pip "$venv"
  else
    "$python" -I -m venv --clear "$venv"
  fi
  if [ -x "$venv/bin/python" ]; then
    vpy="$venv/bin/python"
  else
    vpy="$venv/Scripts/python.exe"  # Windows runners
  fi
  if outer_pip; then
    pip_cmd=("$python" -I -m pip --python "$vpy")
  else
    pip_cmd=("$vpy" -I -m pip)
  fi

  if from_wheels 2>"$tmp/gatekeeper-install.log"; then
    echo "gatekeeper: dependencies installed from the wheel cache (hash-checked)"
  else
    if [ -d "$wheels" ] && [ -n "$(ls -A "$wheels" 2>/dev/null)" ]; then
      echo "::warning title=gatekeeper action::the cached wheels do not match requirements.lock (or are incomplete); downloading them again"
    fi
    rm -rf "$wheels"
    mkdir -p "$wheels"
    if venv_pip download "${pip_quiet[@]}" --require-hashes --only-binary=:all: \
        -d "$wheels" -r "$lock"; then
      from_wheels
      echo "gatekeeper: dependencies downloaded (hash-checked) and kept for the cache"
    else
      # NOTE: a platform without wheels for every pin: install from the index as it is
      # (still hash-checked, sdists built), and keep nothing for the cache.
      rm -rf "$wheels"
      venv_pip "${pip_install[@]}" -r "$lock"
      echo "gatekeeper: dependencies installed from the index (hash-checked; not cached)"
    fi
  fi

  local site
  site=$(site_packages "$vpy")
  rm -rf "$site/gatekeeper"
  cp -R "$GITHUB_ACTION_PATH/gatekeeper" "$site/gatekeeper"
  "$vpy" -I -m gatekeeper --version
  output python "$vpy"
}

case "${1:-install}" in
  prepare) prepare ;;
  install) install ;;
  *) echo "usage: install.sh prepare|install" >&2; exit 2 ;;
esac
