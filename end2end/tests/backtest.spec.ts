import { expect, test } from "./fixtures/test";
import { AuthPages } from "./fixtures/auth_page";
import { BrokeragePages, userWithDemo } from "./fixtures/brokerage_page";
import { PlanPages } from "./fixtures/plan_wizard_page";

const password = "violet tractor harbour 42";

test("open a plan, press Backtest, see it against SPY bought on the same days", async ({ page }) => {
  await userWithDemo(page, "backtest");

  const plans = new PlanPages(page);
  await plans.startWizard();
  await plans.chooseAccount("Demo paper account");
  await plans.addSymbol("vti", "VTI", "100");
  await plans.next("Next: schedule");
  await plans.next("Next: strategy");
  await page.getByLabel("Name").fill("Weekly VTI");
  await plans.next("Review");
  await page.getByTestId("create-plan").click();
  await expect(page).toHaveURL(/\/plans\/\d+$/);

  await page.getByTestId("backtest-plan").click();
  await expect(page).toHaveURL(/\/backtest\?plan=\d+$/);
  await expect(page.getByTestId("report-title")).toContainText("Weekly VTI");
  await expect(page.getByTestId("headline")).toContainText(/ended \$[\d,.]+ (ahead of|behind) SPY bought on the same days/);
  // The last five years, up to the demo exchange's newest complete day.
  await expect(page.getByText("2021-11-19 to 2026-11-19, benchmark SPY")).toBeVisible();

  // uPlot draws each chart on a canvas, with the figures in a table behind it.
  const value = page.getByTestId("value-chart");
  await expect(value.locator("canvas")).toHaveCount(1);
  await expect(value.locator(".u-legend")).toContainText("SPY bought on the same days");
  await value.getByText("the figures as a table").click();
  await expect(value.locator("details").getByRole("row")).toHaveCount(61 + 1);
  await expect(page.getByTestId("drawdown-chart").locator("canvas")).toHaveCount(1);

  const metrics = page.getByTestId("metrics");
  await expect(metrics.getByRole("columnheader")).toHaveText([
    "Metric",
    "Pure DCA (your plan)",
    "Smart DCA (20-day average)",
    "Lump sum on day one",
    "SPY bought on the same days",
  ]);
  await expect(metrics.locator('[data-metric="cagr_pct"] td').first()).toHaveText("not defined");

  // Another question is one form away, and its answer is a shareable link.
  await page.goto("/backtest");
  await page.getByLabel("Symbols and dollars per run").fill("VTI:60, BND:40");
  await page.getByLabel("Strategy").selectOption("smart");
  await page.getByLabel("From").fill("2024-01-01");
  await page.getByLabel("To").fill("2025-12-31");
  await page.getByTestId("run-backtest").click();
  await expect(page).toHaveURL(/legs=VTI%3A60%2C\+BND%3A40/);
  await expect(page.getByTestId("headline")).toContainText("Smart DCA (20-day average) ended");
  await expect(page.getByTestId("downloads").getByRole("link")).toHaveCount(6);

  const csv = await page.request.get(
    (await page.getByRole("link", { name: "The buys table as CSV" }).getAttribute("href")) ?? "",
  );
  expect(csv.ok()).toBeTruthy();
  expect((await csv.text()).split("\n")[0]).toBe("date,symbol,dollars,quantity,price");

  await page.goto("/backtest?legs=VTI:100&from=2024-13-01");
  await expect(page.getByRole("alert")).toContainText("2024-13-01 is not a date");
});

test("a Monte Carlo shows its progress and can be cancelled; rolling starts say how often each approach won", async ({ page }) => {
  const auth = new AuthPages(page);
  await auth.signUp(`robust-${Date.now()}@example.com`, password);
  await auth.expectSignedInAs("robust-");
  const brokerage = new BrokeragePages(page);
  await brokerage.openConnections();
  await brokerage.connectDemo();

  await page.goto("/backtest?legs=VTI:100&from=2024-01-01&to=2025-12-31");
  await page.locator("body[data-hydrated]").waitFor();
  const mc = page.getByTestId("monte-carlo");
  const progress = page.getByTestId("monte-carlo-progress");
  await mc.getByLabel(/^Paths/).fill("300");
  await page.getByTestId("run-monte-carlo").click();
  await expect(progress).toContainText("300 of 300 paths");
  await expect(page.getByTestId("monte-carlo-summary")).toContainText("300 paths, $10,500.00 paid in");
  await expect(page.getByTestId("monte-carlo-below")).toContainText("% of paths ended below the amount paid in.");

  // A long run stops between slices when asked.
  await mc.getByLabel(/^Paths/).fill("20000");
  await page.getByTestId("run-monte-carlo").click();
  await page.getByTestId("cancel-monte-carlo").click();
  await expect(progress).toContainText("(cancelled)");
  await expect(progress).not.toContainText("20000 of 20000");
  await expect(page.getByTestId("run-monte-carlo")).toBeEnabled();

  await page.getByTestId("run-rolling").click();
  await expect(page.getByTestId("rolling-wins").getByRole("row")).toHaveCount(4);
  await expect(page.getByTestId("rolling-leads")).toContainText("Median");
  await expect(page.getByTestId("rolling-chart").locator("canvas")).toHaveCount(1);
});

test("a strategy sweep shows a heatmap of every pair and the best pair in full", async ({ page }) => {
  const auth = new AuthPages(page);
  await auth.signUp(`sweep-${Date.now()}@example.com`, password);
  await auth.expectSignedInAs("sweep-");
  const brokerage = new BrokeragePages(page);
  await brokerage.openConnections();
  await brokerage.connectDemo();

  await page.goto("/backtest");
  await page.getByRole("link", { name: "Backtest a trading strategy instead" }).click();
  await expect(page).toHaveURL(/\/backtest\/strategy$/);
  await page.getByLabel("Fast average (bars)").fill("5..8");
  await page.getByLabel("Slow average (bars)").fill("20..24");
  await page.getByLabel("From", { exact: true }).fill("2024-01-01");
  await page.getByLabel("To", { exact: true }).fill("2025-12-31");
  await page.getByTestId("run-strategy").click();

  const heatmap = page.getByTestId("heatmap");
  await expect(heatmap.locator("tbody tr")).toHaveCount(4);
  await expect(heatmap.locator("td[data-best]")).toHaveCount(1);
  await expect(heatmap.locator("td[data-best]")).toContainText("★");
  await expect(page.getByTestId("strategy-title")).toContainText("the sweep's best pair");
  await expect(page.getByTestId("strategy-headline")).toContainText(/Final value \$[\d,.]+ \(-?[\d.]+%\) after \d+ trades/);
  await expect(page.getByTestId("equity-chart").locator("canvas")).toHaveCount(1);
  await expect(page.getByTestId("trades").locator("tbody tr").first()).toBeVisible();
});
