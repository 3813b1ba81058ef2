import { expect, test } from "@playwright/test";
import { SitePage } from "./fixtures/site_page";

for (const [path, heading] of [
  ["/", /Invest a little, on schedule/],
  ["/pricing", /Pricing/],
  ["/terms", /Terms of Service/],
] as const) {
  test(`${path} hydrates, shows its heading and the disclaimer, without console errors`, async ({ page }) => {
    const site = new SitePage(page);
    await site.open(path);
    await expect(site.heading()).toHaveText(heading);
    await site.expectDisclaimer();
    site.expectNoConsoleErrors();
  });
}

test("the pricing page lists all four tiers", async ({ page }) => {
  const site = new SitePage(page);
  await site.open("/pricing");
  for (const tier of ["free", "basic", "pro", "premium"]) {
    await expect(page.getByTestId(`tier-${tier}`)).toBeVisible();
  }
  await expect(page.getByTestId("tier-basic")).toContainText("$9/mo");
  site.expectNoConsoleErrors();
});

test("navigation links change the page without a full reload", async ({ page }) => {
  const site = new SitePage(page);
  await site.open("/");
  // A full reload would wipe this marker from the window object.
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

  await site.nav().getByRole("link", { name: "Pricing" }).click();
  await expect(page).toHaveURL(/\/pricing$/);
  await expect(site.heading()).toHaveText("Pricing");
  await expect(page.getByTestId("tier-premium")).toBeVisible();

  await site.nav().getByRole("link", { name: "Terms" }).click();
  await expect(site.heading()).toHaveText("Terms of Service");

  const same = await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument);
  expect(same).toBe(true);
  await site.expectDisclaimer();
  site.expectNoConsoleErrors();
});

test("an unknown address shows the not-found page with the disclaimer", async ({ page }) => {
  const site = new SitePage(page);
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await site.waitForHydration();
  await expect(site.heading()).toHaveText("Page not found");
  await site.expectDisclaimer();
});
