/**
 * The page's end-to-end harness: headless Debian Chromium driven by playwright-core (no browser download), a real
 * `portunus relay` process serving the built page (packages/web/dist, `npm run build`) on 127.0.0.1 with an
 * ephemeral port, and real CLI processes (cli/test/e2e/harness.ts). Tests wait on the page's state (`#app`'s
 * data-state attribute), never on time.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { CHROMIUM_PATH } from '../../../test/browser/chromium.js';
import { ROOT, startRelayProcess, tempDir, type RelayProc } from '../../../cli/test/e2e/harness.js';

export { chromiumSkipReason } from '../../../test/browser/chromium.js';

export const PAGE_DIR = join(ROOT, 'packages/web/dist');
export const SCREENSHOTS = join(ROOT, 'packages/web/test-results/screenshots');
/** A hang detector for one state change, not a speed target (50 MB through noble AES-GCM on a loaded core). */
export const STATE_MS = 120_000;

/**
 * Flags checked on these machines (root, no GPU, loopback only): the sandbox needs a non-root user; WebRTC may use
 * loopback candidates and plain host addresses (no mDNS names a test could not resolve). No File System Access API
 * (its save dialog is native, out of a test's reach): the page then saves as Firefox, Safari and phones do, by a
 * download streamed through its service worker, which the test reads back.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--disable-blink-features=FileSystemAccessLocal',
];

/** `extraArgs` go after CHROMIUM_ARGS (bench/page.ts maps a host name to 127.0.0.1 for a non-secure origin). */
export function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** A real relay process serving the built page; fails clearly when the page was not built. */
export async function startPageRelay(): Promise<RelayProc & { origin: string }> {
  if (!existsSync(join(PAGE_DIR, 'app.js'))) throw new Error(`no built page in ${PAGE_DIR}: run npm run build`);
  const relay = await startRelayProcess(['--page-dir', PAGE_DIR]);
  return { ...relay, origin: new URL(relay.url).origin.replace(/^ws/, 'http') };
}

/** A fresh browser context the size of a phone screen (360 px wide), downloads allowed. */
export async function phoneContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 360, height: 740 }, acceptDownloads: true });
}

/** Opens `url` in a new tab of `context` and waits for the page to reach `state`. */
export async function openPage(context: BrowserContext, url: string, state = 'start'): Promise<Page> {
  const page = await context.newPage();
  const problems: string[] = [];
  // The stack says where an uncaught error came from (a failure shows it in the assertion's diff).
  page.on('pageerror', (err) => problems.push(err.stack ?? err.message));
  page.on('console', (msg) => void (msg.type() === 'error' && !dropsDisabled(msg) && problems.push(msg.text())));
  (page as Page & { problems?: string[] }).problems = problems;
  await page.goto(url);
  await waitState(page, state);
  return page;
}

/**
 * The page asks `GET /drops` at start whether the relay stores drops; a relay without `--storage` answers 404
 * (DROPS_DISABLED, PROTOCOL.md §11.3), which Chromium logs as a failed resource. That answer is expected, not a problem.
 */
function dropsDisabled(msg: ConsoleMessage): boolean {
  return new URL(msg.location().url || 'about:blank').pathname === '/drops' && msg.text().includes('status of 404');
}

/** Script errors and console errors the page logged (a CSP violation is one). */
export function pageProblems(page: Page): string[] {
  return (page as Page & { problems?: string[] }).problems ?? [];
}

/**
 * Waits until the page is in `state`. The error state ends every other wait at once, with what the page said.
 */
export async function waitState(page: Page, state: string, timeout = STATE_MS): Promise<void> {
  const reached = await page
    .locator(`#app[data-state="${state}"], #app[data-state="error"]`)
    .first()
    .waitFor({ timeout })
    .then(
      () => page.locator('#app').getAttribute('data-state'),
      async (err: unknown) => {
        const now = await page.locator('#app').getAttribute('data-state');
        const problems = pageProblems(page).join(' | ');
        throw new Error(`the page stayed in ${now} instead of reaching ${state} (${problems})`, { cause: err });
      },
    );
  if (reached !== state) {
    const text = await page.locator('#error-message').textContent();
    throw new Error(`the page failed instead of reaching ${state}: ${text}`);
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export interface PageWorld {
  readonly relay: RelayProc & { origin: string };
  readonly browser: Browser;
  /** A temporary folder removed after the file's tests. */
  readonly tmp: string;
}

/** Registers hooks that start one page-serving relay process, one browser and one temporary folder per test file. */
export function usePageWorld(hooks: {
  beforeAll: (fn: () => Promise<void>) => void;
  afterAll: (fn: () => Promise<void>) => void;
}): PageWorld {
  let parts: {
    relay: RelayProc & { origin: string };
    browser: Browser;
    tmp: { path: string; cleanup(): Promise<void> };
  };
  hooks.beforeAll(async () => {
    const [relay, browser, tmp] = await Promise.all([startPageRelay(), launchBrowser(), tempDir('portunus-page-')]);
    parts = { relay, browser, tmp };
  });
  hooks.afterAll(async () => {
    await parts?.browser.close();
    await parts?.relay.stop();
    await parts?.tmp.cleanup();
  });
  return {
    get relay() {
      return parts.relay;
    },
    get browser() {
      return parts.browser;
    },
    get tmp() {
      return parts.tmp.path;
    },
  };
}
