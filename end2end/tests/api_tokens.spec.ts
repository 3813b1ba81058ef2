import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "./fixtures/test";
import { userWithDemo } from "./fixtures/brokerage_page";
import { SitePage } from "./fixtures/site_page";

test("a user creates an API token in Settings, a script uses it, and revoking it locks the script out", async ({ page, request }) => {
  await userWithDemo(page, "tokens");
  const site = new SitePage(page);
  await site.open("/account/settings");
  const section = page.locator("section", { has: page.getByRole("heading", { name: "API tokens" }) });
  await expect(section.getByTestId("no-api-tokens")).toBeVisible();

  // A bad expiry is refused next to its field, and nothing is created.
  await section.getByLabel("Name").fill("nightly script");
  await section.getByLabel("Scope").selectOption("read");
  await section.getByLabel("Expires after (days)").fill("999");
  await section.getByRole("button", { name: "Create token" }).click();
  await expect(section.getByTestId("expires_in_days-error")).toContainText("1 to 366");
  await expect(section.getByTestId("no-api-tokens")).toBeVisible();

  await section.getByLabel("Expires after (days)").fill("30");
  await section.getByRole("button", { name: "Create token" }).click();
  const shown = section.getByTestId("new-api-token");
  await expect(shown).toContainText("will not be shown again");
  const token = (await shown.locator("code").innerText()).trim();
  expect(token).toMatch(/^dft_/);
  const row = section.getByTestId("api-tokens").getByRole("row", { name: /nightly script/ });
  await expect(row).toContainText("Read only");
  await expect(row.locator("td").nth(4)).toContainText("Never");
  await expect(row).not.toContainText(token);

  const results = await new AxeBuilder({ page }).analyze();
  expect(results.violations).toEqual([]);

  // A script, with no cookies: reads with the token, cannot trade with it.
  const plans = await request.get("/api/v1/plans", { headers: { Authorization: `Bearer ${token}` } });
  expect(plans.status()).toBe(200);
  expect((await plans.json()).data).toEqual([]);
  const accounts = await request.get("/api/v1/accounts", { headers: { Authorization: `Bearer ${token}` } });
  expect(accounts.status()).toBe(200);
  const stop = await request.post("/api/v1/plans/1/stop", { headers: { Authorization: `Bearer ${token}` } });
  expect(stop.status()).toBe(403);
  expect((await stop.json()).error.code).toBe("insufficient_scope");

  // Settings now shows when it was last used; revoking it locks the script out.
  await site.open("/account/settings");
  await expect(row.locator("td").nth(4)).not.toContainText("Never");
  await row.getByTestId("revoke-token").click();
  await expect(row).toContainText("Revoked");
  await expect(row.getByTestId("revoke-token")).toHaveCount(0);
  const refused = await request.get("/api/v1/plans", { headers: { Authorization: `Bearer ${token}` } });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error.code).toBe("invalid_token");
});

test("the API page lists every operation from the OpenAPI document", async ({ page, request }) => {
  const document = await (await request.get("/api/v1/openapi.json")).json();
  let operations = 0;
  for (const item of Object.values(document.paths) as Record<string, unknown>[]) {
    operations += Object.keys(item).length;
  }
  const site = new SitePage(page);
  await site.open("/api");
  await expect(page.getByRole("heading", { level: 1, name: "REST API" })).toBeVisible();
  await expect(page.getByTestId("api-operation")).toHaveCount(operations);
  await expect(page.getByTestId("api-operation").filter({ hasText: "POST /api/v1/plans/{id}/pause" })).toContainText("trade");
  await page.locator("footer").getByRole("link", { name: "API" }).click();
  await expect(page).toHaveURL(/\/api$/);
});
