// Real Chromium for page tests: Debian's /usr/bin/chromium driven by playwright-core (which never downloads
// a browser). Every request the page makes is recorded, so a test can prove none left 127.0.0.1.
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Flags that keep Chromium from reaching for Google's services on a machine with no network. */
const QUIET_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
];

export interface BrowserSession extends AsyncDisposable {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested, in order. */
  requests: string[];
  /** Requests to anything but 127.0.0.1 / [::1] / localhost (data: and blob: URLs are local). */
  foreignRequests(): string[];
}

export async function openBrowser(
  opts: { viewport?: { width: number; height: number } } = {},
): Promise<BrowserSession> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: QUIET_FLAGS, timeout: 60_000 });
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 800 } });
  const page = await context.newPage();
  const requests: string[] = [];
  context.on("request", (r) => requests.push(r.url()));
  return {
    browser,
    context,
    page,
    requests,
    foreignRequests: () =>
      requests.filter(
        (u) => !/^(?:data:|blob:|about:|https?:\/\/(?:127\.0\.0\.1|\[::1\]|localhost)(?::\d+)?\/)/.test(u),
      ),
    async [Symbol.asyncDispose]() {
      await browser.close().catch(() => {});
    },
  };
}
