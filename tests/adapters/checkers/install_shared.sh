#!/usr/bin/env bash
# Optional: install the shared protocol checkers (mastra-client-check, aisdk-check from a
# `shared` checkout beside the repository) into a writable cache. The project's own harness
# (tests/js) does not need them; test_shared_checkers.py runs them as extra checks when the
# checkout exists.
#
# The shared checkout is read-only, so each checker is copied into a cache directory and its own
# setup.sh (npm ci from its package-lock.json) runs there. The copy is refreshed when the shared
# files change; setup.sh skips npm when the lock file matches.
#
#   bash tests/adapters/checkers/install_shared.sh     # prints the cache directory
#
# Environment: RXAGENTS_SHARED (default: <repo>/../shared), RXAGENTS_CHECKERS_DIR (default:
# ${XDG_CACHE_HOME:-$HOME/.cache}/rxagents-checkers). The tests read the same variables.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
shared=${RXAGENTS_SHARED:-$repo/../shared}
cache=${XDG_CACHE_HOME:-${HOME:+$HOME/.cache}}
dest=${RXAGENTS_CHECKERS_DIR:-${cache:-/tmp}/rxagents-checkers}
command -v node >/dev/null || { echo "install_shared.sh: node is not installed (Node 20+ needed)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install_shared.sh: npm is not installed" >&2; exit 1; }
mkdir -p "$dest"
for name in mastra-client-check aisdk-check; do
  src=$shared/$name
  [ -f "$src/setup.sh" ] || { echo "install_shared.sh: $src/setup.sh not found (set RXAGENTS_SHARED)" >&2; exit 1; }
  mkdir -p "$dest/$name"
  # Copy the checker's own files (not node_modules); make them writable for later refreshes.
  (cd "$src" && find . -path ./node_modules -prune -o -type f -print0) |
    while IFS= read -r -d '' file; do
      mkdir -p "$dest/$name/$(dirname "$file")"
      if ! cmp -s "$src/$file" "$dest/$name/$file"; then
        cp -f "$src/$file" "$dest/$name/$file"
        chmod u+w "$dest/$name/$file"
      fi
    done
  bash "$dest/$name/setup.sh" >&2
done
echo "$dest"
