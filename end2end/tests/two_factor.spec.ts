import { expect, test } from "./fixtures/test";
import * as OTPAuth from "otpauth";
import { AuthPages } from "./fixtures/auth_page";

const password = "violet tractor harbour 42";

function authenticator(secret: string) {
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 });
}

test("enable two-factor authentication, then log in with a code", async ({ page }) => {
  const email = `e2e-2fa-${Date.now()}@example.com`;
  const auth = new AuthPages(page);
  await auth.signUp(email, password);
  await auth.expectSignedInAs(email);

  await page.getByRole("link", { name: "Security and sessions" }).click();
  await expect(page.getByTestId("2fa-status")).toContainText("Off");
  await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
  await expect(page.getByTestId("enrolment").locator("svg")).toBeVisible();
  const secret = (await page.getByTestId("totp-secret").textContent())!.trim();
  const app = authenticator(secret);

  await page.getByLabel("The 6-digit code your app shows").fill(app.generate());
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByTestId("recovery-codes").locator("li")).toHaveCount(10);
  await expect(page.getByTestId("2fa-status")).toContainText("On. 10 recovery codes left");

  await page.goto("/account");
  await auth.waitForHydration();
  await auth.logOut();

  await auth.logIn(email, password);
  await expect(page).toHaveURL(/\/login\/code$/);
  await auth.waitForHydration();
  // The step after the one used to turn 2FA on: a code is accepted only once.
  await page.getByLabel("Code").fill(app.generate({ timestamp: Date.now() + 30_000 }));
  await page.getByRole("button", { name: "Verify" }).click();
  await auth.expectSignedInAs(email);
  await expect(page.getByTestId("activity")).toContainText("Turned on two-factor authentication");
});
