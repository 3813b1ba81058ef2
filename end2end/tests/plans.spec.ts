import { expect, test } from "./fixtures/test";
import { userWithDemo } from "./fixtures/brokerage_page";
import { PlanPages } from "./fixtures/plan_wizard_page";
import { clockControlToken } from "./fixtures/alpaca_fake";

test("create a plan with the wizard, let the engine run it, see the purchase", async ({ page }) => {
  // Two engine passes, each seconds apart, and the wizard twice.
  test.setTimeout(90_000);
  const brokerage = await userWithDemo(page, "plans");

  const plans = new PlanPages(page);
  await plans.startWizard();
  await plans.chooseAccount("Demo paper account");
  await plans.addSymbol("vti", "VTI", "40");
  await plans.next("Next: schedule");
  await page.getByLabel("How often").selectOption("daily");
  await page.getByLabel("At (HH:MM, your time zone)").fill("10:00");
  await page.getByLabel("Time zone", { exact: true }).fill("America/New_York");
  await plans.next("Next: strategy");
  await page.getByLabel("Name").fill("Daily VTI");
  await plans.next("Review");

  // The demo exchange stands at Friday 20 November 2026, 10:30 in New York.
  const runs = page.getByTestId("next-runs").getByRole("listitem");
  await expect(runs).toHaveCount(5);
  await expect(runs.first()).toContainText("Mon 23 Nov, 10:00 EST");
  await expect(page.getByTestId("monthly-spend")).toContainText("$40.00 per run");
  await page.getByTestId("create-plan").click();
  await expect(page).toHaveURL(/\/plans\/\d+$/);
  await expect(page.getByTestId("no-runs")).toBeVisible();

  // Monday's run comes due; the engine (every few seconds) buys.
  const moved = await page.request.post("/paper-exchange/_control/clock", {
    data: { at: "2026-11-23T15:00:30Z", speed: 0 },
    headers: { authorization: `Bearer ${clockControlToken}` },
  });
  expect(moved.ok()).toBeTruthy();
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("run")).toHaveCount(1);
    await expect(page.getByTestId("run")).toContainText("filled");
  }).toPass({ timeout: 20_000 });
  await expect(page.getByTestId("run")).toContainText("VTI $40.00");
  await expect(page.getByTestId("invested")).toContainText("$40");

  await brokerage.openDashboard();
  const demo = brokerage.dashboard("Demo paper account");
  await expect(demo.getByTestId("position")).toContainText("VTI");
  await expect(page.getByTestId("next-purchase")).toContainText("Daily VTI");

  // The plans list shows what was spent and what it is worth now.
  await plans.open("/plans");
  const row = page.getByTestId("plan").filter({ hasText: "Daily VTI" });
  await expect(row.getByTestId("invested")).toContainText("$40");
  await expect(row.getByTestId("current-value")).toContainText("$");

  // Edit: from the next run on, $60 split 2:1 between VTI and QQQ.
  await row.getByRole("link", { name: "Edit" }).click();
  await expect(plans.heading()).toHaveText("Edit plan");
  await plans.waitForHydration();
  await plans.next("Next: symbols");
  await page.getByLabel("A total per run, split by weight").check();
  await page.getByLabel("Total per run ($)").fill("60");
  const vtiWeight = page.getByLabel("VTI weight");
  await vtiWeight.fill("2");
  await vtiWeight.blur();
  await plans.addWeighted("qqq", "QQQ", "1");
  await plans.next("Next: schedule");
  await plans.next("Next: strategy");
  await plans.next("Review");
  await expect(page.getByTestId("monthly-spend")).toContainText("$60.00 per run");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page).toHaveURL(/\/plans\/\d+$/);
  await expect(page.getByTestId("run")).toHaveCount(1);

  // Tuesday's run buys with the new amounts; Monday's stays as it was.
  const tuesday = await page.request.post("/paper-exchange/_control/clock", {
    data: { at: "2026-11-24T15:00:30Z", speed: 0 },
    headers: { authorization: `Bearer ${clockControlToken}` },
  });
  expect(tuesday.ok()).toBeTruthy();
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("run")).toHaveCount(2);
    await expect(page.getByTestId("run").first()).toContainText("filled");
  }).toPass({ timeout: 20_000 });
  await expect(page.getByTestId("run").first()).toContainText("VTI $40.00");
  await expect(page.getByTestId("run").first()).toContainText("QQQ $20.00");
  await expect(page.getByTestId("run").last()).toContainText("VTI $40.00");
  await expect(page.getByTestId("run").last()).not.toContainText("QQQ");
});

test("the wizard sends problems back to the step they belong to", async ({ page }) => {
  await userWithDemo(page, "wizard");

  const plans = new PlanPages(page);
  await plans.startWizard();
  await plans.chooseAccount("Demo paper account");
  await plans.addSymbol("VTI", "VTI", "0.50");
  await plans.next("Next: schedule");
  await page.getByLabel("At (HH:MM, your time zone)").fill("08:00");
  await page.getByLabel("Time zone", { exact: true }).fill("America/New_York");
  await plans.next("Next: strategy");
  await plans.next("Review");

  const errors = page.getByTestId("plan-errors");
  await expect(errors).toContainText("$1.00");
  await expect(errors).toContainText("09:30");
  await expect(page.getByTestId("create-plan")).toBeDisabled();
  await errors.getByRole("button", { name: "Fix in Symbols" }).click();
  await expect(page.getByLabel("VTI $")).toBeVisible();
});

test("a plan's own page pauses, resumes and stops it, and asks before stopping", async ({ page }) => {
  await userWithDemo(page, "controls");

  const plans = new PlanPages(page);
  await plans.startWizard();
  await plans.chooseAccount("Demo paper account");
  await plans.addSymbol("vti", "VTI", "25");
  await plans.next("Next: schedule");
  await page.getByLabel("Time zone", { exact: true }).fill("America/New_York");
  await plans.next("Next: strategy");
  await page.getByLabel("Name").fill("Weekly VTI");
  await plans.next("Review");
  await page.getByTestId("create-plan").click();
  await expect(page).toHaveURL(/\/plans\/\d+$/);
  await plans.waitForHydration();

  // Pausing says which run it skips, and that paused runs are not made up.
  const status = page.getByTestId("plan-status");
  await expect(status).toHaveText("active");
  // (The demo exchange's clock is wherever earlier tests left it: a Monday.)
  await expect(page.getByTestId("pause-effect")).toContainText(/The next run \(Mon \d+ \w+( \d{4})?, 10:00 E[SD]T/);
  await expect(page.getByTestId("pause-effect")).toContainText("not made up");
  await page.getByTestId("pause-plan").click();
  await expect(status).toHaveText("paused");
  await page.getByTestId("resume-plan").click();
  await expect(status).toHaveText("active");

  // Stopping asks first and says what it means.
  await expect(page.getByTestId("confirm-stop")).toBeHidden();
  await page.getByTestId("stop-plan").getByText("Stop plan…").click();
  await expect(page.getByTestId("stop-means")).toContainText("cannot be resumed");
  await page.getByTestId("confirm-stop").click();
  await expect(status).toHaveText("ended");
  await expect(page.getByTestId("plan-controls")).not.toContainText("Pause");
  await expect(page.getByTestId("stop-plan")).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Edit plan" })).toHaveCount(0);
});
