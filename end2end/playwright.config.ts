import { defineConfig } from "@playwright/test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { clockControlToken, goodKey, sessionClock } from "./tests/fixtures/alpaca_fake";

// The Makefile builds the app (`cargo leptos build`) and passes the binary's
// path; Playwright starts it on a throwaway data folder and waits for /readyz.
const port = Number(process.env.E2E_PORT ?? 3100);
// A stand-alone paper exchange plays Alpaca for the API-key form: it knows
// only the key opened below, so any other key is refused like a bad one.
const alpacaPort = port + 1;
const alpacaURL = `http://127.0.0.1:${alpacaPort}`;

const baseURL = `http://127.0.0.1:${port}`;
// The Stripe fake plays Stripe (API, hosted Checkout and Portal pages) and
// posts signed webhooks back to the app.
const stripePort = port + 2;
const stripeURL = `http://127.0.0.1:${stripePort}`;
const bin = process.env.DRIPFEED_BIN ?? path.resolve(__dirname, "../target/debug/dripfeed");
const dataDir = process.env.E2E_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), "dripfeed-e2e-"));
const ci = !!process.env.CI;

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: ci ? 2 : 0,
  reporter: "list",
  use: {
    baseURL,
    trace: ci ? "on-first-retry" : "off",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium" } }],
  webServer: [
   {
    command: `"${bin}" exchange --listen 127.0.0.1:${alpacaPort} --known-keys-only --account ${goodKey.id}:${goodKey.secret} --clock ${sessionClock} --speed 0`,
    url: `${alpacaURL}/v2/clock`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    env: { DRIPFEED_LOG: "warn" },
   },
   {
    command: `"${bin}" stripe-fake --listen 127.0.0.1:${stripePort} --webhook-url ${baseURL}/webhooks/stripe --price price_basic --price price_pro --price price_premium`,
    url: `${stripeURL}/healthz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    env: { DRIPFEED_LOG: "warn" },
   },
   {
    command: `"${bin}" serve`,
    cwd: path.resolve(__dirname, ".."),
    url: `${baseURL}/readyz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      DRIPFEED_LISTEN: `127.0.0.1:${port}`,
      DRIPFEED_DATA_DIR: dataDir,
      LEPTOS_SITE_ROOT: path.resolve(__dirname, "../target/site"),
      DRIPFEED_LOG: "warn",
      DRIPFEED_ALPACA_PAPER_URL: alpacaURL,
      DRIPFEED_ALPACA_DATA_URL: alpacaURL,
      DRIPFEED_EXCHANGE_CLOCK: sessionClock,
      DRIPFEED_EXCHANGE_SPEED: "0",
      // Lets a test move the demo exchange's clock (and so the engine's).
      DRIPFEED_EXCHANGE_CONTROL: "true",
      DRIPFEED_EXCHANGE_CONTROL_TOKEN: clockControlToken,
      // The browser's requests come "through" 127.0.0.1 with a per-test
      // X-Forwarded-For (tests/fixtures/test.ts), so rate limits are per test.
      DRIPFEED_TRUSTED_PROXIES: "127.0.0.1",
      // Billing on, against the Stripe fake (new users get the Pro trial).
      DRIPFEED_STRIPE_SECRET_KEY: "sk_test_dripfeed_fake",
      DRIPFEED_STRIPE_API_URL: stripeURL,
      DRIPFEED_STRIPE_WEBHOOK_SECRETS: "whsec_dripfeed_fake",
      DRIPFEED_STRIPE_PRICE_BASIC: "price_basic",
      DRIPFEED_STRIPE_PRICE_PRO: "price_pro",
      DRIPFEED_STRIPE_PRICE_PREMIUM: "price_premium",
    },
   },
  ],
});
