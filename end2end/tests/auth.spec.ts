import { expect, test } from "./fixtures/test";
import { AuthPages } from "./fixtures/auth_page";

const password = "violet tractor harbour 42";

test("sign up, log out, and log back in", async ({ page }) => {
  const email = `e2e-${Date.now()}@example.com`;
  const auth = new AuthPages(page);

  await auth.signUp(email, password);
  await auth.expectSignedInAs(email);
  await expect(page.getByTestId("activity")).toContainText("Account created");
  // The header knows who is signed in, and offers no way in again.
  await expect(auth.header().getByTestId("header-email")).toHaveText(email);
  await expect(auth.header().getByRole("link", { name: "Dashboard" })).toBeVisible();
  await expect(auth.header().getByRole("link", { name: "Log in" })).toHaveCount(0);

  await auth.logOut();
  await expect(auth.header().getByRole("link", { name: "Log in" })).toBeVisible();
  await expect(auth.header().getByRole("link", { name: "Dashboard" })).toHaveCount(0);
  await auth.open("/account");
  await expect(page.getByText("You are not signed in.")).toBeVisible();

  await auth.logIn(email, password);
  await auth.expectSignedInAs(email);
  await expect(page.getByTestId("activity")).toContainText("Logged in");
  await auth.expectDisclaimer();
});

test("sign-up explains every problem next to its field and keeps what was typed", async ({ page }) => {
  const auth = new AuthPages(page);

  await auth.signUp("not-an-email", "short", false);

  await expect(page.getByTestId("email-error")).toContainText("valid email");
  await expect(page.getByTestId("password-error")).toContainText("at least 12");
  await expect(page.getByTestId("accept_terms-error")).toContainText("Terms");
  await expect(page.getByLabel("Email")).toHaveValue("not-an-email");
  await expect(page).toHaveURL(/\/signup$/);
});

test("a wrong password is refused with a plain message", async ({ page }) => {
  const auth = new AuthPages(page);

  await auth.logIn("nobody@example.com", "not the right password");

  await expect(page.getByTestId("form-error")).toContainText("do not match an account");
  await expect(page).toHaveURL(/\/login$/);
});
