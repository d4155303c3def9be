import { existsSync } from "node:fs";

/** Debian's Chromium, which the browser tests drive with playwright-core (nothing downloads a browser). */
export const CHROMIUM = "/usr/bin/chromium";

/** Headless, offline, and quiet: no sandbox (CI runs as root), no GPU, no background traffic. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Throws with the fix when Chromium is not installed. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install it with "apt-get install -y chromium" (.ci/run does this)`,
    );
  }
}
