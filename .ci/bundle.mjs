// Fingerprints and precompresses a built site (called by .ci/site.sh).
//
//   node .ci/bundle.mjs <site-dir> <output-name> <brotli-quality>
//
// 1. Renames pkg/<name>.js and pkg/<name>.wasm to pkg/<name>.<hash>.{js,wasm}
//    (one hash over both: the JS glue belongs to exactly one WASM) and
//    pkg/<name>.css to pkg/<name>.<hash>.css, and pkg/uplot.js (the charting
//    library, from npm) to pkg/uplot.<hash>.js, each hash the first 16 hex digits
//    of the SHA-256 of the content, and writes assets.json naming them. The
//    server reads that manifest to link the files and to mark exactly those
//    names `immutable` (src/server/assets.rs).
// 2. Writes a brotli (.br) and a gzip (.gz) copy next to every text or WASM
//    file, where it is smaller, for the server to pick by Accept-Encoding.
//
// Node's own zlib does the work: node is already a build tool here (npm's
// wasm-opt), so this adds nothing to install.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const [site, name, quality] = process.argv.slice(2);
if (!site || !name || !quality) {
  console.error("usage: node .ci/bundle.mjs <site-dir> <output-name> <brotli-quality>");
  process.exit(2);
}
const pkg = join(site, "pkg");
const digest = (...parts) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(readFileSync(p));
  return h.digest("hex").slice(0, 16);
};

const js = join(pkg, `${name}.js`);
const wasm = join(pkg, `${name}.wasm`);
const css = join(pkg, `${name}.css`);
const charts = join(pkg, "uplot.js");
const bundle = `${name}.${digest(js, wasm)}`;
const stylesheet = `${name}.${digest(css)}.css`;
const chart = `uplot.${digest(charts)}.js`;
renameSync(js, join(pkg, `${bundle}.js`));
renameSync(wasm, join(pkg, `${bundle}.wasm`));
renameSync(css, join(pkg, stylesheet));
renameSync(charts, join(pkg, chart));
writeFileSync(join(site, "assets.json"), JSON.stringify({ bundle, css: stylesheet, chart }) + "\n");

const compressible = /\.(js|mjs|wasm|css|html|svg|json|txt|map)$/;
const files = (dir) =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
let saved = 0;
for (const path of files(site).filter((p) => compressible.test(p))) {
  const raw = readFileSync(path);
  const br = brotliCompressSync(raw, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: Number(quality),
      [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
  const gz = gzipSync(raw, { level: 9 });
  if (br.length < raw.length) writeFileSync(`${path}.br`, br);
  if (gz.length < raw.length) writeFileSync(`${path}.gz`, gz);
  saved += raw.length - Math.min(br.length, raw.length);
}
console.log(`[bundle] ${bundle}.{js,wasm}, ${stylesheet}; brotli q${quality} saves ${(saved / 1e6).toFixed(2)} MB`);
