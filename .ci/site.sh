#!/usr/bin/env bash
# Builds what the browser loads (the hydrate library as WASM, its JS glue, the
# stylesheet and the public assets) into target/site, and the server binary, with
# plain cargo and the wasm-bindgen CLI that .ci/tools.sh installs. This is what
# cargo-leptos's `build` does for this project; doing it here keeps cargo-leptos
# (25 minutes to build on 2 cores) optional, for `cargo leptos watch` only, and
# lets `make test`, clippy and the end-to-end run share one set of compiled
# dependencies (cargo-leptos adds RUSTFLAGS in debug builds, which rebuilds them).
#
# usage: .ci/site.sh dev       # debug server + unoptimised WASM (`make run`)
#        .ci/site.sh browser   # only the unoptimised WASM, JS, CSS and assets (the e2e tests,
#                              # which run the server binary `cargo test` builds)
#        .ci/site.sh release   # release server + size-optimised WASM (`make release`)
#        .ci/site.sh browser-release   # only the size-optimised WASM, JS, CSS and assets
#                                      # (`make bench-hydration BENCH_SITE=release`)
#
# Each step prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-dev}
target_dir=${CARGO_TARGET_DIR:-target}
site=${LEPTOS_SITE_ROOT:-target/site}
name=${LEPTOS_OUTPUT_NAME:-dripfeed}
pkg="$site/${LEPTOS_SITE_PKG_DIR:-pkg}"

case "$mode" in
  dev | browser) wasm_profile=dev wasm_dir=debug server_profile=dev server_dir=debug ;;
  release | browser-release) wasm_profile=wasm-release wasm_dir=wasm-release server_profile=release server_dir=release ;;
  *) echo "usage: $0 dev|browser|release|browser-release" >&2; exit 2 ;;
esac

step() {
  local label=$1 start
  shift
  start=$(date +%s)
  printf '\033[1m[site]\033[0m %s\n' "$label"
  "$@"
  printf '\033[1m[site]\033[0m %s: %ss\n' "$label" $(($(date +%s) - start))
}

wasm_lib() {
  cargo build --locked --lib --no-default-features --features hydrate \
    --target wasm32-unknown-unknown --profile "$wasm_profile"
}

bindgen() {
  local staging="$site.staging"
  rm -rf "$staging"
  mkdir -p "$staging/pkg"
  wasm-bindgen --target web --no-typescript --out-name "$name" --out-dir "$staging/pkg" \
    "$target_dir/wasm32-unknown-unknown/$wasm_dir/$name.wasm"
  # Leptos's <HydrationScripts/> asks for <name>.wasm (cargo-leptos renames it too).
  mv "$staging/pkg/${name}_bg.wasm" "$staging/pkg/$name.wasm"
}

optimise() {
  # npm's binaryen (see .ci/tools.sh): Debian's breaks hydration.
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$site.staging/pkg/$name.wasm" -o "$site.staging/pkg/$name.wasm"
}

# The browser's npm packages (uPlot, for the Backtest page's charts), from the
# npm registry, pinned by .ci/web/package-lock.json; installed when missing.
web_packages() {
  local dir=.ci/web
  if [ -f "$dir/node_modules/uplot/dist/uPlot.iife.min.js" ] &&
    [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    return
  fi
  (cd "$dir" && npm ci --no-audit --no-fund --silent)
}

assets() {
  local staging="$site.staging"
  # uPlot's own stylesheet goes first, so ours can restyle its legend.
  cat .ci/web/node_modules/uplot/dist/uPlot.min.css style/main.css >"$staging/pkg/$name.css"
  cp .ci/web/node_modules/uplot/dist/uPlot.iife.min.js "$staging/pkg/uplot.js"
  cp -R public/. "$staging/"
  # Content-hashed names and precompressed copies (brotli at its best for the
  # release bundle; a faster level for the 20 MB debug one).
  local quality=9
  if [ "$wasm_profile" = wasm-release ]; then quality=11; fi
  node .ci/bundle.mjs "$staging" "$name" "$quality"
  # Swap the whole folder at once so a running server never serves half a build.
  rm -rf "$site.old"
  if [ -d "$site" ]; then mv "$site" "$site.old"; fi
  mv "$staging" "$site"
  rm -rf "$site.old"
}

server() {
  cargo build --locked --features ssr --bin dripfeed --profile "$server_profile"
}

step "browser library (wasm32, $wasm_profile)" wasm_lib
step "wasm-bindgen" bindgen
if [ "$wasm_profile" = wasm-release ]; then step "wasm-opt -Oz" optimise; fi
step "browser npm packages" web_packages
step "stylesheet, public assets, hashed names, compression" assets
if [ "$mode" = browser ] || [ "$mode" = browser-release ]; then
  echo "[site] built $site"
  exit 0
fi
step "server ($server_profile)" server
echo "[site] built $site and $target_dir/$server_dir/dripfeed"
