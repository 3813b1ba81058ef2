import { type Browser, type Page, test } from "@playwright/test";

// How long a page takes to become interactive on loopback, and what its first
// and repeat visits transfer. A benchmark, not a test: it prints numbers (and
// whether they are within the one-second budget) and fails only if a page does
// not hydrate at all. Run it with `make bench-hydration` (the debug bundle
// `make run` serves) or `make bench-hydration BENCH_SITE=release`.

const PAGES = ["/", "/pricing", "/login", "/signup", "/terms"];
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BUDGET_MS = 1000;

type Visit = { hydratedMs: number; transferred: number; wasmTransferred: number; wasmDecoded: number };

/** Records, from inside the page, the moment `<body data-hydrated>` appears. */
async function watchHydration(page: Page) {
  await page.addInitScript(() => {
    const w = window as unknown as { __hydratedAt?: number };
    new MutationObserver((_, observer) => {
      if (document.body?.dataset.hydrated === "true") {
        w.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-hydrated"] });
  });
}

async function visit(page: Page, path: string): Promise<Visit> {
  await page.goto(path);
  await page.locator("body[data-hydrated]").waitFor();
  return page.evaluate(() => {
    const w = window as unknown as { __hydratedAt?: number };
    const entries = [
      ...performance.getEntriesByType("navigation"),
      ...performance.getEntriesByType("resource"),
    ] as PerformanceResourceTiming[];
    const wasm = entries.find((e) => e.name.endsWith(".wasm"));
    return {
      hydratedMs: w.__hydratedAt ?? NaN,
      transferred: entries.reduce((sum, e) => sum + e.transferSize, 0),
      wasmTransferred: wasm?.transferSize ?? 0,
      wasmDecoded: wasm?.decodedBodySize ?? 0,
    };
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

async function measure(browser: Browser, path: string) {
  const cold: Visit[] = [];
  const warm: Visit[] = [];
  for (let i = 0; i < RUNS; i++) {
    // A fresh context is a first visit: empty cache.
    const context = await browser.newContext();
    const page = await context.newPage();
    await watchHydration(page);
    cold.push(await visit(page, path));
    // The same context again: the bundle comes from the cache.
    warm.push(await visit(page, path));
    await context.close();
  }
  return { cold, warm };
}

test("pages hydrate within a second on loopback", async ({ browser }) => {
  const lines: string[] = [];
  let over = 0;
  for (const path of PAGES) {
    const { cold, warm } = await measure(browser, path);
    const coldMs = median(cold.map((v) => v.hydratedMs));
    const warmMs = median(warm.map((v) => v.hydratedMs));
    if (!(coldMs < BUDGET_MS && warmMs < BUDGET_MS)) over++;
    const first = cold[0];
    lines.push(
      [
        path.padEnd(9),
        `first visit ${coldMs.toFixed(0).padStart(5)} ms`,
        `repeat ${warmMs.toFixed(0).padStart(5)} ms`,
        `transferred ${kb(first.transferred).padStart(8)} then ${kb(warm[0].transferred).padStart(6)}`,
        `wasm ${kb(first.wasmTransferred)} of ${kb(first.wasmDecoded)}`,
      ].join("  "),
    );
  }
  console.log(`\nhydration on loopback, median of ${RUNS} (budget ${BUDGET_MS} ms):\n${lines.join("\n")}`);
  console.log(over === 0 ? "all pages within the budget" : `${over} page(s) over the budget`);
});
