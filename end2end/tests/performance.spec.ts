import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "./fixtures/test";
import { userWithDemo } from "./fixtures/brokerage_page";
import { PlanPages } from "./fixtures/plan_wizard_page";
import { SitePage } from "./fixtures/site_page";
import { moveClock, sessionClock } from "./fixtures/alpaca_fake";

test.afterEach(async ({ page }) => {
  await moveClock(page, sessionClock);
});

test("a plan buys twice, its fills appear on the open dashboard, its page compares it with SPY", async ({ page }) => {
  const brokerage = await userWithDemo(page, "perf");

  // A daily VTI plan at 10:00 New York time: the first run is Monday's.
  const plans = new PlanPages(page);
  await plans.createDailyVti("Daily VTI");
  const planUrl = new URL(page.url()).pathname;

  // The dashboard is open and follows the demo account live.
  await brokerage.openDashboard();
  const site = new SitePage(page);
  await site.waitForHydration();
  await expect(page.getByTestId("live-state")).toContainText("Live");
  const demo = brokerage.dashboard("Demo paper account");
  await expect(demo.getByTestId("position").filter({ hasText: "VTI" })).toHaveCount(0);

  // Monday's run: the fill appears without a reload (well before the 30 s refresh).
  await moveClock(page, "2026-11-23T15:00:30Z");
  await expect(demo.getByTestId("position").filter({ hasText: "VTI" })).toBeVisible({ timeout: 20_000 });
  await expect(demo.getByTestId("order").first()).toContainText("filled");

  // Tuesday's run buys again.
  await moveClock(page, "2026-11-24T15:00:30Z");
  await expect(async () => {
    await page.goto(planUrl);
    await expect(page.getByTestId("run")).toHaveCount(2);
    await expect(page.getByTestId("run").first()).toContainText("filled");
  }).toPass({ timeout: 20_000 });

  // The plan's page: what went in, what it is worth, and SPY on the same days.
  await page.getByTestId("performance-link").click();
  await expect(page).toHaveURL(/\/plans\/\d+\/performance/);
  await expect(page.getByTestId("plan-contributed")).toHaveText("$80.00");
  await expect(page.getByTestId("plan-value")).toContainText("$");
  await expect(page.getByTestId("versus")).toContainText("SPY bought on the same days");
  await expect(page.getByTestId("purchases").getByTestId("purchase")).toHaveCount(2);
  await expect(page.getByTestId("holdings")).toContainText("VTI");
  await expect(page.getByTestId("returns-note")).toContainText("Why these returns differ");
  await expect(page.getByTestId("performance-value-chart")).toBeVisible();
  await site.expectDisclaimer();

  // Against cash instead: worth exactly what went in.
  await page.getByLabel("Compare with").fill("cash");
  await page.getByTestId("compare").click();
  await expect(page.getByTestId("versus")).toContainText("Cash at 0 %");
  await expect(page.getByTestId("shadow-value")).toHaveText("$80.00");

  // The page has no accessibility violations.
  await page.locator("body[data-hydrated]").waitFor();
  const results = await new AxeBuilder({ page }).analyze();
  expect(results.violations.map((v) => v.id)).toEqual([]);

  // The dashboard lists the plan against SPY and charts the account.
  await brokerage.openDashboard();
  const row = page.getByTestId("plan-row").filter({ hasText: "Daily VTI" });
  await expect(row).toContainText("$80.00");
  await expect(row).toContainText("SPY");
  await expect(page.getByTestId("equity-chart")).toBeVisible();
  await expect(page.getByTestId("account-contributed")).toContainText("$100,000.00");
});
