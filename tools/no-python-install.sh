#!/usr/bin/env bash
# Builds and installs every module (mvn -B -DskipTests install) from a fresh clone of this
# repository on a machine without Python: every python executable on the PATH (and pyenv) is
# hidden in a private mount namespace first. Needs root (unshare -m). Usage:
#   tools/no-python-install.sh [MAVEN_ARGS...]     e.g. -o to stay offline
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/main"
unshare -m bash -s -- "$work/main" "$@" <<'INNER'
set -euo pipefail
tree=$1; shift
hidden=0
for dir in ${PATH//:/ }; do
  for exe in "$dir"/python*; do
    if [ -e "$exe" ] && [ ! -d "$exe" ]; then
      mount --bind /dev/null "$(readlink -f "$exe")"
      hidden=$((hidden + 1))
    fi
  done
done
[ -d "$HOME/.pyenv" ] && mount -t tmpfs none "$HOME/.pyenv"
for exe in python python3; do
  if "$exe" -c 'print(1)' >/dev/null 2>&1; then
    echo "no-python-install: $exe still runs; cannot test" >&2
    exit 2
  fi
done
echo "no-python-install: $hidden python executables hidden; building $tree"
cd "$tree"
mvn -B -q -DskipTests "$@" install
echo "no-python-install: mvn -B -DskipTests install passed without Python"
INNER
