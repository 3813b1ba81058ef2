import { expect, test } from "./fixtures/test";
import { AuthPages } from "./fixtures/auth_page";
import { BillingPages } from "./fixtures/billing_page";

const password = "violet tractor harbour 42";

test("subscribe on the pricing page, pay on Checkout, see the tier, manage it in the Portal", async ({ page }) => {
  const auth = new AuthPages(page);
  await auth.signUp(`billing-${Date.now()}@example.com`, password);
  await auth.expectSignedInAs("billing-");

  const billing = new BillingPages(page);
  // New users start on the Pro trial.
  await billing.openBilling();
  await expect(billing.tier()).toHaveText("Pro");
  await expect(page.getByText(/Free trial until/)).toBeVisible();

  await billing.subscribe("premium");
  // Stripe's (fake) hosted Checkout page.
  await expect(page).toHaveURL(/127\.0\.0\.1:\d+\/checkout\/cs_test_/);
  await billing.pay();

  // Back on Dripfeed, which waits for Stripe's webhook before granting anything.
  await expect(page).toHaveURL(/\/billing\/success/);
  await expect(page.getByTestId("subscription-confirmed")).toContainText("Premium", { timeout: 20_000 });

  await billing.openBilling();
  await expect(billing.tier()).toHaveText("Premium");
  await expect(page.getByTestId("subscription-status")).toHaveText("Active");
  await expect(page.getByTestId("renews-at")).toBeVisible();

  // The pricing page marks the current tier and sends changes to Billing.
  await billing.open("/pricing");
  await expect(page.getByTestId("tier-premium")).toHaveClass(/current/);
  await expect(page.getByRole("link", { name: "Change in Billing" }).first()).toBeVisible();

  // Manage billing opens the (fake) Billing Portal; cancelling there ends the
  // subscription at the period's end, which Dripfeed shows on return.
  await billing.openBilling();
  await page.getByTestId("manage-billing").click();
  await expect(page).toHaveURL(/127\.0\.0\.1:\d+\/portal\/bps_/);
  await expect(page.getByText("price_premium")).toBeVisible();
  await page.getByRole("button", { name: "Cancel subscription" }).click();
  await expect(page.getByText("(cancels at period end)")).toBeVisible();
  await page.getByRole("link", { name: "Return to Dripfeed" }).click();
  await expect(page).toHaveURL(/\/billing$/);
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("cancels-at")).toBeVisible();
  }).toPass({ timeout: 15_000 });
  await expect(billing.tier()).toHaveText("Premium");
});

test("a cancelled Checkout changes nothing and says so", async ({ page }) => {
  const auth = new AuthPages(page);
  await auth.signUp(`cancel-${Date.now()}@example.com`, password);
  await auth.expectSignedInAs("cancel-");
  const billing = new BillingPages(page);
  await billing.subscribe("basic");
  await page.getByRole("link", { name: "Cancel and go back" }).click();
  await expect(page).toHaveURL(/\/pricing\?checkout=cancelled/);
  await expect(page.getByTestId("checkout-cancelled")).toBeVisible();
  await billing.openBilling();
  await expect(billing.tier()).toHaveText("Pro");
});
