import { expect, test } from "./fixtures/test";
import { goodKey } from "./fixtures/alpaca_fake";
import { AuthPages } from "./fixtures/auth_page";
import { BrokeragePages } from "./fixtures/brokerage_page";

const password = "violet tractor harbour 42";

test("a new user connects the demo paper account and sees a live dashboard", async ({ page }) => {
  const auth = new AuthPages(page);
  await auth.signUp(`demo-${Date.now()}@example.com`, password);
  await auth.expectSignedInAs("demo-");
  // Just signed up: the first steps, none done yet.
  const steps = page.getByTestId("getting-started");
  await expect(steps.getByTestId("step-connect")).toHaveAttribute("data-done", "false");
  await expect(steps.getByTestId("step-plan")).toHaveAttribute("data-done", "false");
  await expect(steps.getByTestId("step-purchase")).toHaveAttribute("data-done", "false");

  const brokerage = new BrokeragePages(page);
  await brokerage.openConnections();
  await expect(page.getByTestId("no-connections")).toBeVisible();
  await brokerage.connectDemo();

  await page.getByRole("link", { name: "Go to the dashboard →" }).click();
  const demo = brokerage.dashboard("Demo paper account");
  await expect(demo.getByTestId("equity")).toHaveText("$100,000.00");
  await expect(demo.getByTestId("buying-power")).toHaveText("$100,000.00");
  await expect(demo.getByTestId("market-status")).toContainText("Market open");
  await expect(demo.getByTestId("no-positions")).toBeVisible();
  // Connected: the first step is ticked, the next one offered.
  await expect(steps.getByTestId("step-connect")).toHaveAttribute("data-done", "true");
  await expect(steps.getByTestId("step-plan").getByRole("link", { name: "Create your first plan" })).toBeVisible();
  await brokerage.expectDisclaimer();
  brokerage.expectNoConsoleErrors();

  // A bad key: a clear message next to the field, and nothing saved.
  await brokerage.openConnections();
  await brokerage.submitKeys("PKNOTAREALKEY1", "not-the-secret");
  await expect(page.getByTestId("key_id-error")).toContainText("did not accept");
  await brokerage.openConnections();
  await expect(brokerage.connections().getByTestId("connection")).toHaveCount(1);
  // (Leptos answers every failed server function with HTTP 500, which the
  // browser logs; so console errors are checked before the refused key.)
});

test("valid paper keys and an OAuth grant both connect", async ({ page }) => {
  const auth = new AuthPages(page);
  await auth.signUp(`connect-${Date.now()}@example.com`, password);
  await auth.expectSignedInAs("connect-");

  const brokerage = new BrokeragePages(page);
  await brokerage.openConnections();
  await brokerage.submitKeys(goodKey.id, goodKey.secret);
  await expect(brokerage.connections()).toContainText("Alpaca paper …0001");
  await expect(page.getByText(goodKey.secret)).toHaveCount(0);

  await page.getByTestId("connect-oauth").click();
  await expect(page.getByRole("heading", { name: "Authorize access" })).toBeVisible();
  await page.getByRole("button", { name: "Allow" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await brokerage.waitForHydration();
  await expect(brokerage.dashboard(/Demo OAuth account/).getByTestId("equity")).toHaveText(
    "$100,000.00",
  );
  await expect(brokerage.dashboard(/Alpaca paper/).getByTestId("equity")).toHaveText("$100,000.00");
});

test("the dashboard refreshes itself every 30 seconds without reloading the page", async ({ page }) => {
  await page.clock.install();
  const auth = new AuthPages(page);
  await auth.signUp(`refresh-${Date.now()}@example.com`, password);
  await auth.expectSignedInAs("refresh-");
  const brokerage = new BrokeragePages(page);
  await brokerage.openConnections();
  await brokerage.connectDemo();
  await brokerage.openDashboard();
  await expect(brokerage.dashboard("Demo paper account").getByTestId("equity")).toBeVisible();
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

  const refresh = page.waitForRequest(
    (r) => r.method() === "POST" && r.url().includes("portfolio_dashboards"),
  );
  await page.clock.fastForward(31_000);
  await refresh;
  await expect(brokerage.dashboard("Demo paper account").getByTestId("equity")).toHaveText(
    "$100,000.00",
  );
  // Same document: the page was not reloaded.
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
});
