import AxeBuilder from "@axe-core/playwright";
import { execFileSync } from "node:child_process";
import { expect, test } from "./fixtures/test";
import { AuthPages } from "./fixtures/auth_page";
import { SitePage } from "./fixtures/site_page";
import { BrokeragePages } from "./fixtures/brokerage_page";
import { PlanPages } from "./fixtures/plan_wizard_page";
import { moveClock, sessionClock, slowExchange } from "./fixtures/alpaca_fake";

const password = "violet tractor harbour 42";

/** Creates an administrator with the command line, on the app's own database. */
function createAdmin(email: string) {
  const bin = process.env.DRIPFEED_BIN;
  const data = process.env.E2E_DATA_DIR;
  if (!bin || !data) {
    throw new Error("DRIPFEED_BIN and E2E_DATA_DIR must be set (make e2e sets them)");
  }
  execFileSync(bin, ["admin", "create-user", "--email", email, "--admin"], {
    input: `${password}\n`,
    env: { ...process.env, DRIPFEED_DATA_DIR: data, DRIPFEED_LOG: "error" },
  });
}

test("an admin opens the health page with a live engine, sees a run in flight, and disables a user", async ({ page, browser }) => {
  test.setTimeout(120_000);
  // A user who will be disabled, signed in in their own browser.
  const userContext = await browser.newContext();
  const userPage = await userContext.newPage();
  const user = new AuthPages(userPage);
  const userEmail = `disable-me-${Date.now()}@example.com`;
  await user.signUp(userEmail, password);
  await user.expectSignedInAs("disable-me-");
  const brokerage = new BrokeragePages(userPage);
  await brokerage.openConnections();
  await brokerage.connectDemo();
  // A daily plan: its Monday run comes due below.
  await new PlanPages(userPage).createDailyVti("Admin watches this");

  const adminEmail = `admin-${Date.now()}@example.com`;
  createAdmin(adminEmail);
  const auth = new AuthPages(page);
  await auth.logIn(adminEmail, password);
  await auth.expectSignedInAs("admin-");

  const site = new SitePage(page);
  await site.open("/admin/health");
  await expect(page.getByRole("heading", { level: 1, name: "System health" })).toBeVisible();
  await expect(page.getByTestId("health-database")).toContainText("sqlite");
  // The server's own engine passes every few seconds: a live instance.
  const engine = page.getByTestId("health-engines").getByTestId("engine").first();
  await expect(engine).toBeVisible({ timeout: 20_000 });
  await expect(engine).toContainText("Running");
  await expect(page.getByTestId("runs-in-flight")).toBeVisible();
  const results = await new AxeBuilder({ page }).analyze();
  expect(results.violations).toEqual([]);

  // A slow broker holds the plan's Monday run in flight: the page shows it.
  await slowExchange(page, 4_000);
  try {
    await moveClock(page, "2026-11-23T15:00:30Z");
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("runs-in-flight")).toHaveText(/^[1-9]\d*$/, { timeout: 500 });
    }).toPass({ timeout: 30_000 });
  } finally {
    await slowExchange(page, 0);
    await moveClock(page, sessionClock);
  }

  // Users: disable the user; their session ends.
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Users" }).click();
  const row = page.getByTestId("users").getByRole("row", { name: new RegExp(userEmail) });
  await row.getByRole("button", { name: "Disable" }).click();
  await expect(row).toContainText("Disabled");
  await userPage.goto("/dashboard");
  await expect(userPage.getByRole("link", { name: "Log in" }).first()).toBeVisible();
  await userContext.close();
});
