import { expect, test } from "./fixtures/test";
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

  await site.nav().getByRole("link", { name: "Log in" }).click();
  await expect(site.heading()).toHaveText("Log in");

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

test("on a phone the navigation folds into a menu that works with the keyboard", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const site = new SitePage(page);
  await site.open("/");
  const menu = site.nav().getByRole("button", { name: "Menu" });
  const pricing = site.nav().getByRole("link", { name: "Pricing" });
  await expect(menu).toBeVisible();
  await expect(pricing).toBeHidden();

  await menu.focus();
  await page.keyboard.press("Enter");
  await expect(menu).toHaveAttribute("aria-expanded", "true");
  await expect(pricing).toBeVisible();
  await page.keyboard.press("Tab");
  await page.keyboard.press("Escape");
  await expect(pricing).toBeHidden();
  await expect(menu).toHaveAttribute("aria-expanded", "false");

  await menu.click();
  await pricing.click();
  await expect(site.heading()).toHaveText("Pricing");
  await expect(pricing).toBeHidden();
});
