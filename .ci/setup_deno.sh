#!/usr/bin/env bash
# Installs the pinned Deno from npm into .tools/ (idempotent). Prints the deno path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(cat "$root/.ci/deno_version")"
deno="$root/.tools/node_modules/.bin/deno"
if [ ! -x "$deno" ] || [ "$("$deno" --version 2>/dev/null | head -1 | cut -d' ' -f2)" != "$version" ]; then
  mkdir -p "$root/.tools"
  (cd "$root/.tools" && [ -f package.json ] || echo '{"private":true}' > package.json)
  npm install --prefix "$root/.tools" --no-audit --no-fund --loglevel=error "deno@$version" >&2
fi
"$deno" --version >/dev/null
echo "$deno"
