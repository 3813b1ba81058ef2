#!/usr/bin/env bash
# Installs the tools Dripfeed's build and tests need, skipping whatever is already
# present. Every tool comes from crates.io, npm or Debian: nothing is downloaded from
# anywhere else (cargo-leptos is built with `no_downloads`).
#
# usage: .ci/tools.sh build   # wasm32 target, wasm-bindgen-cli, wasm-opt (what .ci/site.sh needs)
#        .ci/tools.sh test    # the build tools + chromium + faketime + the end-to-end npm packages
#                             # + backtesting.py (PyPI, for the cross-check)
#                             # + schemathesis, openapi-spec-validator (PyPI, for the API contract)
#        .ci/tools.sh bench   # oha (crates.io), for `make bench-web`
#        .ci/tools.sh cargo-leptos   # optional, only for `cargo leptos watch` (~25 minutes)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
CARGO_LEPTOS_VERSION=0.3.11
# npm's binaryen runs on node; Debian's binaryen 108 produces WASM that fails to
# hydrate in current Chromium, so it must never be the wasm-opt on PATH.
BINARYEN_NPM_VERSION=132.0.0
TOOLS_DIR=${TOOLS_DIR:-$HOME/.cache/dripfeed/tools}

say() { printf '\033[1m[tools]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Copies a crate's published source out of cargo's registry cache, so that its
# lockfile can be nudged to versions this registry has and this rustc builds.
fetch_crate_source() {
  local name=$1 version=$2 dest=$3 scratch
  scratch=$(mktemp -d)
  mkdir -p "$scratch/src"
  printf '[package]\nname = "fetch-%s"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n' \
    "$name" "$name" "$version" >"$scratch/Cargo.toml"
  : >"$scratch/src/lib.rs"
  (cd "$scratch" && cargo fetch -q)
  local src
  src=$(ls -d "$HOME"/.cargo/registry/src/*/"$name-$version" | head -n1)
  rm -rf "$dest"
  cp -r "$src" "$dest"
  rm -rf "$scratch"
}

wasm_target() {
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "wasm32-unknown-unknown target: present"
  else
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

cargo_leptos() {
  if cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    say "cargo-leptos $CARGO_LEPTOS_VERSION: present"
    return
  fi
  say "building cargo-leptos $CARGO_LEPTOS_VERSION with no_downloads (first time: ~20 minutes)"
  local dir
  dir=$(mktemp -d)/cargo-leptos
  fetch_crate_source cargo-leptos "$CARGO_LEPTOS_VERSION" "$dir"
  # 0.3.11's lockfile pins cargo-util-schemas 0.14.2, which needs a newer rustc.
  (cd "$dir" && cargo update -q -p cargo-util-schemas --precise 0.14.1 &&
    cargo install --path . --locked --features no_downloads)
  rm -rf "$(dirname "$dir")"
}

wasm_bindgen() {
  local want
  want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' "$here/Cargo.lock")
  if [ -z "$want" ]; then
    say "cannot read the wasm-bindgen version from Cargo.lock" >&2
    exit 1
  fi
  if wasm-bindgen --version 2>/dev/null | grep -q " $want\$\| $want "; then
    say "wasm-bindgen-cli $want: present"
    return
  fi
  say "building wasm-bindgen-cli $want to match Cargo.lock (first time: ~3 minutes)"
  local dir
  dir=$(mktemp -d)/wasm-bindgen-cli
  fetch_crate_source wasm-bindgen-cli "$want" "$dir"
  # Its lockfile pins a webpki-roots release this registry does not carry.
  (cd "$dir" && { cargo update -q -p webpki-roots --precise 1.0.10 2>/dev/null || true; } &&
    cargo install --path . --locked --force)
  rm -rf "$(dirname "$dir")"
}

wasm_opt() {
  local bin="$TOOLS_DIR/node_modules/.bin/wasm-opt"
  if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
    say "wasm-opt (npm binaryen): present at $bin"
    return
  fi
  say "installing wasm-opt from npm's binaryen $BINARYEN_NPM_VERSION into $TOOLS_DIR"
  mkdir -p "$TOOLS_DIR"
  (cd "$TOOLS_DIR" && npm install --no-audit --no-fund --silent "binaryen@$BINARYEN_NPM_VERSION")
}

chromium() {
  if [ -x /usr/bin/chromium ]; then
    say "chromium: present"
    return
  fi
  say "installing Debian's chromium (for the end-to-end tests)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
}

faketime_tool() {
  if [ -x /usr/bin/faketime ]; then
    say "faketime: present"
    return
  fi
  say "installing Debian's faketime (the suite also runs with the clock pinned)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime
}

e2e_packages() {
  local dir="$here/end2end"
  if [ -d "$dir/node_modules/@playwright/test" ] &&
    [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    say "end-to-end npm packages: present"
    return
  fi
  say "installing the end-to-end npm packages (Playwright without its browser download)"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
}

# backtesting.py from PyPI, in its own virtualenv, for `make crosscheck`.
BACKTESTING_PY_VERSION=0.6.6
backtesting_py() {
  local venv="$TOOLS_DIR/venv"
  if "$venv/bin/python" -c "import backtesting, sys; sys.exit(backtesting.__version__ != '$BACKTESTING_PY_VERSION')" 2>/dev/null; then
    say "backtesting.py $BACKTESTING_PY_VERSION: present"
    return
  fi
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
    say "installing Debian's python3-venv (for the backtesting.py cross-check)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  fi
  say "installing backtesting.py $BACKTESTING_PY_VERSION from PyPI into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "backtesting==$BACKTESTING_PY_VERSION"
}

# openapi-spec-validator and schemathesis from PyPI, in the same virtualenv,
# for `make api-contract` (the REST API against its OpenAPI document).
OPENAPI_SPEC_VALIDATOR_VERSION=0.9.0
SCHEMATHESIS_VERSION=4.32.5
api_contract_tools() {
  local venv="$TOOLS_DIR/venv"
  if "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$SCHEMATHESIS_VERSION' or m.version('openapi-spec-validator') != '$OPENAPI_SPEC_VALIDATOR_VERSION')" 2>/dev/null; then
    say "schemathesis $SCHEMATHESIS_VERSION, openapi-spec-validator $OPENAPI_SPEC_VALIDATOR_VERSION: present"
    return
  fi
  say "installing schemathesis $SCHEMATHESIS_VERSION and openapi-spec-validator $OPENAPI_SPEC_VALIDATOR_VERSION from PyPI into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION"
}

# oha from crates.io (native-tls: OpenSSL from Debian, no C toolchain
# downloads), for `make bench-web`: fixed-rate latency percentiles as JSON.
OHA_VERSION=1.15.0
oha_tool() {
  if oha --version 2>/dev/null | grep -q "$OHA_VERSION"; then
    say "oha $OHA_VERSION: present"
    return
  fi
  say "building oha $OHA_VERSION from crates.io (first time: ~6 minutes)"
  cargo install oha --version "$OHA_VERSION" --locked --no-default-features --features native-tls
}

case "${1:-build}" in
  build) wasm_target; wasm_bindgen; wasm_opt ;;
  test) wasm_target; wasm_bindgen; wasm_opt; chromium; faketime_tool; e2e_packages; backtesting_py; api_contract_tools ;;
  bench) oha_tool ;;
  cargo-leptos) cargo_leptos ;;
  *) echo "usage: $0 build|test|bench|cargo-leptos" >&2; exit 2 ;;
esac
