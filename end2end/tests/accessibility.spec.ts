import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { AuthPages } from "./fixtures/auth_page";
import { BrokeragePages } from "./fixtures/brokerage_page";
import { expect, test } from "./fixtures/test";

const password = "violet tractor harbour 42";

const PUBLIC_PAGES = ["/", "/pricing", "/terms", "/whats-new", "/api", "/signup", "/login", "/no/such/page"];
const SIGNED_IN_PAGES = [
  "/account",
  "/account/security",
  "/account/settings",
  "/brokerage",
  "/dashboard",
  "/plans",
  "/plans/new",
  "/history",
  "/backtest",
  "/backtest?legs=VTI:60,BND:40&mode=smart&from=2024-01-01&to=2025-12-31",
  "/backtest/strategy?symbol=SPY&fast=5..8&slow=20..24&from=2024-01-01&to=2025-12-31",
  "/notifications",
  "/recommendations",
  "/recommendations/scorecard",
  "/billing",
];

/** Every axe-core violation on the page, as "rule: where" lines. */
async function violations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(" ")} — ${v.help}`),
  );
}

async function check(page: Page, paths: string[]) {
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const path of paths) {
      await page.goto(path);
      await page.locator("body[data-hydrated]").waitFor();
      expect(await violations(page), `${path} in ${scheme} mode`).toEqual([]);
    }
  }
}

test("every public page has no accessibility violations, light and dark", async ({ page }) => {
  // Each page checked twice, the API reference among them: more than 30 s here.
  test.setTimeout(90_000);
  await check(page, PUBLIC_PAGES);
});

test("every signed-in page has no accessibility violations, light and dark", async ({ page }) => {
  // Sixteen pages, each checked twice: more than the default 30 s on a small machine.
  test.setTimeout(120_000);
  const auth = new AuthPages(page);
  await auth.signUp(`axe-${Date.now()}@example.com`, password);
  await auth.expectSignedInAs("axe-");
  const brokerage = new BrokeragePages(page);
  await brokerage.openConnections();
  await brokerage.connectDemo();
  await check(page, SIGNED_IN_PAGES);
});
