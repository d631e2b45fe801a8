/**
 * The page's Content-Security-Policy as a real browser applies it (headless Chromium, PROTOCOL.md §2.12): a page
 * served by the relay on 127.0.0.1 runs its own script and style and reaches the relay's WebSocket on the same
 * origin, while inline script and a connection to any other origin are refused.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, launchChromium, type Chromium } from '../../test/browser/chromium.js';
import type { RelayHandle } from '../src/server.js';
import { startTestRelay, WAIT_MS } from './helpers.js';

const INDEX = `<!doctype html>
<html><head><link rel="stylesheet" href="app.css"><script src="app.js" defer></script></head>
<body><p id="p">page</p><script>document.body.dataset.inline = 'ran';</script></body></html>`;

/**
 * Records in the body's data attributes what the policy let through: the page's style, the relay's welcome and its
 * answer to a ping, the other origin.
 */
const APP = `
document.body.dataset.color = getComputedStyle(document.getElementById('p')).color;
const ws = new WebSocket('ws://' + location.host + '/v1');
ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, agent: 'page/1' }));
ws.onmessage = (e) => {
  const type = JSON.parse(e.data).type;
  if (type === 'welcome') document.body.dataset.welcome = e.data;
  if (type === 'welcome') ws.send(JSON.stringify({ type: 'ping' }));
  if (type === 'pong') document.body.dataset.pong = e.data;
};
fetch('http://localhost:' + location.port + '/healthz').then(
  () => { document.body.dataset.other = 'reached'; },
  () => { document.body.dataset.other = 'refused'; },
);
`;

/** Collects every violation the browser reports, from before the page's first byte (an init script). */
const RECORD_VIOLATIONS = `
globalThis.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => globalThis.cspViolations.push(e.effectiveDirective));
`;

const skip = chromiumSkipReason();

describe.skipIf(skip !== undefined)('the page CSP in headless Chromium', () => {
  let dir: string;
  let relay: RelayHandle;
  let chromium: Chromium;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portunus-page-'));
    await writeFile(join(dir, 'index.html'), INDEX);
    await writeFile(join(dir, 'app.js'), APP);
    await writeFile(join(dir, 'app.css'), '#p { color: rgb(1, 2, 3); }');
    relay = await startTestRelay({ pageDir: dir });
    chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await relay?.close(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the page’s own script and style, reaches the relay (welcome, ping → pong), refuses inline script and other origins', async () => {
    const page = await chromium.context.newPage();
    await page.addInitScript({ content: RECORD_VIOLATIONS });
    await page.goto(`http://127.0.0.1:${relay.port}/#7-H7K-29A`, { timeout: WAIT_MS });
    const body = page.locator('body');
    await page.waitForSelector('body[data-pong][data-other]', { state: 'attached', timeout: WAIT_MS });
    const violations = () => (globalThis as { cspViolations?: string[] }).cspViolations ?? [];
    await page.waitForFunction(
      () => (globalThis as { cspViolations?: string[] }).cspViolations?.length === 2,
      undefined,
      { timeout: WAIT_MS },
    );
    expect((await page.evaluate(violations)).sort()).toEqual(['connect-src', 'script-src-elem']);
    expect(JSON.parse((await body.getAttribute('data-welcome'))!)).toEqual({
      type: 'welcome',
      protocol: 1,
      relay: 'portunus-relay',
      page: true,
    });
    // A browser cannot send a WebSocket ping: its keepalive is the relay's ping message (PROTOCOL.md §2.8).
    expect(await body.getAttribute('data-pong')).toBe('{"type":"pong"}');
    expect(await body.getAttribute('data-other')).toBe('refused');
    expect(await body.getAttribute('data-inline')).toBeNull();
    expect(await body.getAttribute('data-color')).toBe('rgb(1, 2, 3)');
    await page.close();
  });
});
