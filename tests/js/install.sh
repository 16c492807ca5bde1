#!/usr/bin/env bash
# Install the pinned JavaScript clients (package-lock.json) into tests/js/node_modules.
#
#   bash tests/js/install.sh
#
# `npm ci` runs only when node_modules was not installed from this exact lock file (a stamp in
# node_modules holds the lock file's hash), so a second run costs nothing.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "tests/js/install.sh: node is not on PATH (Node.js 20+ with npm is needed)" >&2; exit 1; }
command -v npm >/dev/null || { echo "tests/js/install.sh: npm is not on PATH (it comes with Node.js 20+)" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "tests/js/install.sh: Node.js $(node --version) is too old, 20+ is needed" >&2; exit 1; }
stamp=node_modules/.package-lock.sha256
want=$(node -e 'const c=require("node:crypto"),f=require("node:fs");process.stdout.write(c.createHash("sha256").update(f.readFileSync("package-lock.json")).digest("hex"))')
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
