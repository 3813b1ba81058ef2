import { expect, test } from "./fixtures/test";
import { userWithDemo } from "./fixtures/brokerage_page";
import { SitePage } from "./fixtures/site_page";
import { moveClock, sessionClock } from "./fixtures/alpaca_fake";

test.afterEach(async ({ page }) => {
  await moveClock(page, sessionClock);
});

test("a recommendation arrives, one is executed on the demo account, another ignored, both show up", async ({ page }) => {
  const brokerage = await userWithDemo(page, "recs");

  // Tuesday 17 November 2026, 10:30 in New York: GO's morning has come, and
  // Monday's close crossed SOXX's and VGT's 5-day averages above their 20-day ones.
  await moveClock(page, "2026-11-17T15:30:00Z");

  const site = new SitePage(page);
  await site.open("/recommendations");
  await expect(site.heading()).toHaveText("Recommendations");
  await site.expectDisclaimer();
  await page.getByLabel("Propose trades each trading morning").check();
  await page.getByLabel("Watchlist").fill("SOXX, VGT");
  await page.getByTestId("save-settings").click();
  await expect(page.getByTestId("settings-saved")).toBeVisible();

  // The engine runs GO on its next pass; nothing is bought by it.
  const pending = page.getByTestId("recommendations-pending").getByTestId("recommendation");
  await expect(async () => {
    await page.reload();
    await expect(pending).toHaveCount(2);
  }).toPass({ timeout: 30_000 });
  await site.waitForHydration();
  const soxx = page.locator('[data-testid="recommendation"][data-symbol="SOXX"]');
  await expect(soxx).toContainText("Buy 43 SOXX");
  await expect(soxx).toContainText("MA crossover entry");
  await expect(soxx.getByTestId("expires")).toContainText("16:00");

  // VGT's size would break the 15 % rail: refused with the numbers.
  const vgt = page.locator('[data-testid="recommendation"][data-symbol="VGT"]');
  await vgt.getByTestId("execute").click();
  await expect(vgt.getByTestId("form-error")).toContainText("above the 15% limit; nothing was ordered.");

  // SOXX is executed on the demo account.
  await soxx.getByTestId("execute").click();
  await expect(page.getByTestId("decision-notice")).toContainText("Ordered: buy 43 SOXX at market.");
  const executed = page.locator('[data-testid="recommendations-executed"] [data-testid="recommendation"][data-symbol="SOXX"]');
  await expect(executed).toBeVisible();

  // VGT is ignored, with a reason.
  await vgt.getByTestId("ignore-reason-input").fill("Too much tech already");
  await vgt.getByTestId("ignore").click();
  const ignored = page.locator('[data-testid="recommendations-ignored"] [data-testid="recommendation"][data-symbol="VGT"]');
  await expect(ignored.getByTestId("ignore-reason")).toHaveText("Too much tech already");

  // The position shows on the dashboard.
  await brokerage.openDashboard();
  await expect(brokerage.dashboard("Demo paper account").getByTestId("position").filter({ hasText: "SOXX" })).toBeVisible();

  // The scorecard counts both decisions.
  await site.open("/recommendations/scorecard");
  await expect(page.getByTestId("scorecard-row")).toHaveCount(2);
  await expect(page.locator('[data-testid="scorecard-row"][data-decision="ignored"]')).toContainText("1");
  await expect(page.locator('[data-testid="scorecard-row"][data-decision="executed"]')).toBeVisible();
  // The one refused Execute answers 409, which the browser logs; nothing else.
  expect(site.consoleErrors.filter((e) => !e.includes("status of 409"))).toEqual([]);
});
