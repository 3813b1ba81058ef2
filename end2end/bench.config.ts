import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The hydration benchmark (`make bench-hydration`): the same servers as the
// end-to-end suite, its own folder, and nothing retried.
export default defineConfig({
  ...base,
  testDir: "./bench",
  testMatch: /.*\.bench\.ts$/,
  retries: 0,
  timeout: 120_000,
});
