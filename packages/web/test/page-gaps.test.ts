/**
 * What issue 14 asks of the page beyond the plain transfers, each with real relay and CLI processes:
 *
 * - the secret never reaches the relay: the page is loaded through a recording TCP proxy (its WebSocket goes through
 *   it too), and nothing the page sent, HTTP requests included, holds the code or its secret in any spelling;
 * - drag and drop onto the page's drop target sends the dropped file;
 * - a lost connection (the CLI peer killed, or the relay) ends in the page's error state at once, not at a timeout;
 * - the page moves between paths as the CLI does: WebRTC severed mid-transfer, the data goes on over the relay (and
 *   back onto WebRTC dialled again, PROTOCOL.md §6.4 "Attempts", unless the page can make no new peer connection).
 *
 * Faults come from the harness only: proxies (a recording one, one that holds the CLI's data frames on the relay),
 * SIGKILL, and init scripts (one keeps the page's peer connections so the test can close them, one holds a picked
 * file's stream part way).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { type Code, formatCode, normalizeCode, parseCode, PortunusError } from '@portunus/protocol';
import { exitOf, runPortunus, type Proc } from '../../../cli/test/e2e/harness.js';
import { afterDataBytes, RelayProxy, TcpProxy } from '../../../cli/test/e2e/faults.js';
import { findSpellings, readableBytes } from './client-bytes.js';
import {
  chromiumSkipReason,
  openPage,
  pageProblems,
  phoneContext,
  startPageRelay,
  STATE_MS,
  usePageWorld,
  waitState,
} from './page-harness.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Every spelling of the code a leak could take: whole, normalized, and the secret alone, grouped or not. */
function secretForms(code: Code): string[] {
  const shown = formatCode(code);
  return [shown, normalizeCode(code), code.secret, shown.slice(shown.indexOf('-') + 1)];
}

/** The code the page shows, parsed. */
async function shownCode(page: Page): Promise<Code> {
  const code = parseCode((await page.locator('#code-text').textContent()) ?? '');
  if (code instanceof PortunusError) throw code;
  return code;
}

/** Sends the file picked in `page` and returns its code. */
async function sendPicked(page: Page, path: string): Promise<Code> {
  await page.locator('#files').setInputFiles(path);
  await page.locator('#send-form button[type="submit"]').click();
  await waitState(page, 'code');
  return shownCode(page);
}

/** What the recording proxy's clients sent, one readable buffer per connection (client-bytes.ts). */
function sentThrough(proxy: TcpProxy): Buffer[] {
  return proxy.sent.map((chunks) => readableBytes(Buffer.concat(chunks)));
}

/**
 * Feeds a CLI's standard input with `block` over and over, as fast as the pipe takes it (its 'drain' event, no
 * timer), until finish(): then ends the input and says what was written.
 */
function pump(stdin: Writable, block: Buffer): { finish(): { bytes: number; sha256: string } } {
  const hash = createHash('sha256');
  let bytes = 0;
  let stopped = false;
  const write = (): void => {
    while (!stopped) {
      hash.update(block);
      bytes += block.length;
      if (!stdin.write(block)) return void stdin.once('drain', write);
    }
  };
  stdin.on('error', () => undefined); // a sender that failed exits before reading it all
  write();
  return {
    finish() {
      stopped = true;
      stdin.end();
      return { bytes, sha256: hash.digest('hex') };
    },
  };
}

describe.skipIf(chromiumSkipReason() !== undefined)('the page beyond the plain transfers', () => {
  const world = usePageWorld({ beforeAll, afterAll });

  async function withContext(run: (context: BrowserContext) => Promise<void>): Promise<void> {
    const context = await phoneContext(world.browser);
    try {
      await run(context);
    } finally {
      await context.close();
    }
  }

  /** A recording proxy in front of the world's relay, closed after `run`. */
  async function throughProxy(run: (proxy: TcpProxy, origin: string) => Promise<void>): Promise<void> {
    const proxy = await TcpProxy.start(Number(new URL(world.relay.origin).port), { record: true });
    try {
      await run(proxy, `http://127.0.0.1:${proxy.port}`);
    } finally {
      await proxy.close();
    }
  }

  describe('the secret never reaches the relay', () => {
    it('page → CLI, the page loaded through a recording proxy: no byte it sent holds the code or its secret', async () => {
      const dir = join(world.tmp, 'secret-page-to-cli');
      await mkdir(join(dir, 'dst'), { recursive: true });
      const content = randomBytes(2_000_000);
      await writeFile(join(dir, 'ledger.bin'), content);
      await throughProxy(async (proxy, origin) => {
        let code!: Code;
        await withContext(async (context) => {
          const page = await openPage(context, `${origin}/`);
          code = await sendPicked(page, join(dir, 'ledger.bin'));
          expect(await page.locator('#code-link').textContent()).toBe(`${origin}/#${formatCode(code)}`);
          // The CLI meets the page at the relay itself, not through the proxy: the proxy sees the page alone. All the
          // data goes through the relay, so the page's WebSocket carries every sealed frame.
          const receiver = runPortunus(
            ['receive', '--json', '--yes', '--transport', 'relay', '--relay', world.relay.url, formatCode(code)],
            { cwd: join(dir, 'dst') },
          );
          await waitState(page, 'done');
          expect(await exitOf(receiver, STATE_MS)).toBe(0);
          expect(sha256(await readFile(join(dir, 'dst', 'ledger.bin')))).toBe(sha256(content));
        });
        const sent = sentThrough(proxy);
        // The recording is the page's whole conversation, readable: its page load, its hello, every data frame.
        const all = Buffer.concat(sent);
        expect(all.includes('GET / HTTP/1.1')).toBe(true);
        expect(all.includes('"agent":"portunus-web/')).toBe(true);
        expect(all.length).toBeGreaterThan(content.length);
        for (const bytes of sent) expect(findSpellings(bytes, secretForms(code))).toEqual([]);
      });
    });

    it('page → page, the receiver opened with /#CODE: the nameplate goes to the relay, the secret does not', async () => {
      const content = randomBytes(1_000_000);
      await writeFile(join(world.tmp, 'secret-page-to-page.bin'), content);
      await throughProxy(async (proxy, origin) => {
        let code!: Code;
        const [one, two] = await Promise.all([phoneContext(world.browser), phoneContext(world.browser)]);
        try {
          const sender = await openPage(one, `${origin}/`);
          code = await sendPicked(sender, join(world.tmp, 'secret-page-to-page.bin'));
          const receiver = await openPage(two, `${origin}/#${formatCode(code)}`, 'offer');
          const [download] = await Promise.all([
            receiver.waitForEvent('download'),
            receiver.locator('#accept').click(),
          ]);
          await Promise.all([waitState(receiver, 'done'), waitState(sender, 'done')]);
          expect(sha256(await readFile(await download.path()))).toBe(sha256(content));
          expect([...pageProblems(sender), ...pageProblems(receiver)]).toEqual([]);
        } finally {
          await Promise.all([one.close(), two.close()]);
        }
        const sent = sentThrough(proxy);
        // The receiver claimed the nameplate: the one part of the code the relay must learn.
        const claim = `{"type":"claim","nameplate":${code.nameplate}}`;
        expect(sent.some((bytes) => bytes.includes(claim))).toBe(true);
        for (const bytes of sent) expect(findSpellings(bytes, secretForms(code))).toEqual([]);
      });
    });
  });

  it('drag and drop: a file dropped on the drop target is sent, and portunus receive gets it intact', async () => {
    const dir = join(world.tmp, 'drop');
    await mkdir(dir, { recursive: true });
    const content = randomBytes(3_000_000);
    await withContext(async (context) => {
      const page = await openPage(context, `${world.relay.origin}/`);
      const zone = page.locator('#drop');
      // A DataTransfer made in the page, holding a File made there from the bytes: what a real drop hands over.
      const dataTransfer = await page.evaluateHandle((base64) => {
        const scope = globalThis as unknown as {
          DataTransfer: new () => { items: { add(file: unknown): void } };
          File: new (parts: unknown[], name: string, options: object) => unknown;
        };
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const transfer = new scope.DataTransfer();
        transfer.items.add(new scope.File([bytes], 'dropped.bin', { type: 'application/octet-stream' }));
        return transfer;
      }, content.toString('base64'));
      await zone.dispatchEvent('dragover', { dataTransfer });
      expect(await zone.getAttribute('class')).toContain('over');
      await zone.dispatchEvent('drop', { dataTransfer });
      expect(await zone.getAttribute('class')).not.toContain('over');
      expect(await page.locator('#drop-text').textContent()).toBe('dropped.bin');
      await page.locator('#send-form button[type="submit"]').click();
      await waitState(page, 'code');
      const code = formatCode(await shownCode(page));
      const receiver = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, code], { cwd: dir });
      await waitState(page, 'done');
      expect(await exitOf(receiver, STATE_MS)).toBe(0);
      expect(sha256(await readFile(join(dir, 'dropped.bin')))).toBe(sha256(content));
      expect(pageProblems(page)).toEqual([]);
    });
  });

  describe('a lost connection, as the page shows it', () => {
    /** A CLI sender of standard input over the relay, fed until the test ends; its code, and the page receiving. */
    async function receivingFrom(relayUrl: string, origin: string, context: BrowserContext) {
      const sender = runPortunus(
        ['send', '--json', '--transport', 'relay', '--relay', relayUrl, '-', '--name', 'stream.bin'],
        { stdin: 'pipe' },
      );
      const feed = pump(sender.child.stdin!, randomBytes(1024 * 1024));
      const code = String((await sender.waitEvent('code')).code);
      const page = await openPage(context, `${origin}/#${code}`, 'offer');
      await page.locator('#accept').click();
      await waitState(page, 'progress');
      // Data is moving: the page has written some and says how much.
      await page.locator('#progress-text').filter({ hasText: /\d/ }).waitFor({ timeout: STATE_MS });
      return { sender, feed, page };
    }

    it('the CLI sender killed (SIGKILL) mid-transfer: the relay says the peer left, the page shows PEER_GONE', async () => {
      await withContext(async (context) => {
        const { sender, feed, page } = await receivingFrom(world.relay.url, world.relay.origin, context);
        sender.child.kill('SIGKILL');
        await sender.exited;
        feed.finish();
        // Well within the page's stall timeout (60 s): the relay's peer-left ends the wait at once, so the error
        // names the peer, not a stall.
        await waitState(page, 'error', 60_000);
        expect(await page.locator('#app').getAttribute('data-error')).toBe('PEER_GONE');
        expect(await page.locator('#error-message').textContent()).toBe('the other side disconnected');
        expect(await page.locator('#error-hint').textContent()).toBe(
          'The other side disconnected before the transfer finished.',
        );
        expect(await page.locator('#save').isVisible()).toBe(false);
      });
    });

    it('the relay killed (SIGKILL) mid-transfer: the page shows it lost the relay, and so does the CLI', async () => {
      const relay = await startPageRelay();
      try {
        await withContext(async (context) => {
          const { sender, feed, page } = await receivingFrom(relay.url, relay.origin, context);
          await relay.stop();
          // The page's WebSocket ends abnormally (no close frame) at once: no stall timeout is involved.
          await waitState(page, 'error', 60_000);
          feed.finish();
          expect(await page.locator('#app').getAttribute('data-error')).toBe('RELAY_UNREACHABLE');
          expect(await page.locator('#error-message').textContent()).toBe('lost the connection to the relay');
          expect(await exitOf(sender, STATE_MS)).not.toBe(0);
          expect(errorOf(sender)).toBe('RELAY_UNREACHABLE');
        });
      } finally {
        await relay.stop();
      }
    });
  });

  describe('the page moves between paths as the CLI does', () => {
    // Runs once more after a failure, as the 8 MiB engine tests of cli/test/transport/rtc-chromium.test.ts do: the
    // Node ↔ Chromium WebRTC stacks below us lose about one connection in 30 under load (that file says how), and
    // this test needs its first one to carry data. Seen once here, in a suite run whose page never showed WebRTC.
    it(
      'CLI → page on --transport auto: WebRTC severed mid-transfer, the data goes on over the relay, then over WebRTC dialled again, SHA-256 equal',
      { retry: 1 },
      async () => {
        // The CLI meets the relay through a proxy that holds its data frames once 2 MiB went through (messages, and so
        // the WebRTC signals, still pass): until the test lets them go, the data can reach the page over WebRTC alone.
        // Without this the page might never see WebRTC carry data: a sender whose probe of WebRTC acknowledged nothing
        // within its 500 ms (a loaded machine) takes the data back to the relay for good, and the relay's resends win.
        const proxy = await RelayProxy.start(world.relay.url);
        proxy.freezeFrames(afterDataBytes(2 * 1024 * 1024));
        try {
          await withContext(async (context) => {
            await context.addInitScript(keepPeerConnections);
            await context.addInitScript(recordPathsShown);
            const sender = runPortunus(
              ['send', '--json', '--transport', 'auto', '--relay', proxy.url, '-', '--name', 'stream.bin'],
              { stdin: 'pipe' },
            );
            // The source never runs dry before the test says so: the transfer is under way whenever the path goes.
            const feed = pump(sender.child.stdin!, randomBytes(1024 * 1024));
            const code = String((await sender.waitEvent('code')).code);
            const page = await openPage(context, `${world.relay.origin}/#${code}`, 'offer');
            const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#accept').click()]);
            // The page shows data arriving over WebRTC (after the relay's first 2 MiB, which may show only briefly:
            // recordPathsShown keeps every text, checked below): its peer connections are closed in that same task,
            // and the relay passes the data again.
            const severed = await page.evaluate(severOnWebRtc, { timeoutMs: STATE_MS, refuseNew: false });
            proxy.thaw();
            expect(severed.shown).toBe('Moving directly (WebRTC)');
            expect(severed.closed).toBeGreaterThan(0);
            // The data goes on over the relay; the CLI dials WebRTC again (PROTOCOL.md §6.4 "Attempts"), the page
            // answers with a new peer connection, and the CLI probes the new path (so the relay's text may show only
            // briefly: recordPathsShown keeps it). The source runs on until that move: the transfer cannot end first.
            await untilEvent(sender, () => toWebRtc(sender).length >= 2, 'the move to the WebRTC path dialled again');
            const written = feed.finish();
            await waitState(page, 'done');
            expect(await exitOf(sender, STATE_MS)).toBe(0);
            const received = await readFile(await download.path());
            expect(received.length).toBe(written.bytes);
            expect(sha256(received)).toBe(written.sha256);
            // The sender moved the data to WebRTC and back: `failover` when it saw the channel end first, `slower`
            // when its probe of WebRTC ended first with nothing acknowledged there. Then it probed the new WebRTC path
            // (which path finished the transfer is the chooser's measure).
            const moves = sender.events().filter((e) => e.event === 'transport');
            expect(moves.slice(0, 3)).toMatchObject([
              { from: 'relay', to: 'webrtc', reason: 'probe' },
              { from: 'webrtc', to: 'relay' },
              { from: 'relay', to: 'webrtc', reason: 'probe' },
            ]);
            expect(['failover', 'slower']).toContain(moves[1]!.reason);
            const shown = await page.evaluate(
              () => (globalThis as unknown as { portunusPathsShown: string[] }).portunusPathsShown,
            );
            // The page shows a path once a frame came over it: WebRTC before the sever, the relay after it. The relay's
            // text may not come first: the relay's first frames cross the test's proxy, and a WebRTC probe frame that
            // overtakes them shows first (seen once in CI, on a loaded machine); and a probe that saw no ack within
            // four probe lengths goes back to the relay before a frame comes over the new path.
            const severedAt = shown.indexOf('Moving directly (WebRTC)');
            expect(severedAt, shown.join(' | ')).toBeGreaterThanOrEqual(0);
            expect(severedAt, shown.join(' | ')).toBeLessThanOrEqual(1);
            expect(shown.slice(0, severedAt).every((text) => text === 'Moving through the relay')).toBe(true);
            expect(shown[severedAt + 1], shown.join(' | ')).toBe('Moving through the relay');
            expect(pageProblems(page)).toEqual([]);
          });
        } finally {
          await proxy.close();
        }
      },
    );

    it('page → CLI on --transport auto: WebRTC severed as the page moves the data to it, the rest goes over the relay', async () => {
      const dir = join(world.tmp, 'sever-page-to-cli');
      await mkdir(join(dir, 'dst'), { recursive: true });
      const content = randomBytes(24 * 1024 * 1024);
      await writeFile(join(dir, 'gated.bin'), content);
      await withContext(async (context) => {
        await context.addInitScript(keepPeerConnections);
        await context.addInitScript(gateFile, { name: 'gated.bin', bytes: 4 * 1024 * 1024 });
        const page = await openPage(context, `${world.relay.origin}/`);
        const code = formatCode(await sendPicked(page, join(dir, 'gated.bin')));
        const receiver = runPortunus(
          ['receive', '--json', '--yes', '--transport', 'auto', '--relay', world.relay.url, code],
          { cwd: join(dir, 'dst') },
        );
        // The file's first 4 MiB go over the relay; the rest waits until WebRTC is up and the page moves the data
        // to it, which is when the path is severed (and the rest of the file let through). The page may not make a
        // new peer connection after that, so its attempts to dial WebRTC again fail and the relay carries the rest.
        const severed = await page.evaluate(severOnWebRtc, { timeoutMs: STATE_MS, refuseNew: true });
        await page.evaluate(() => (globalThis as unknown as { portunusOpenGate(): void }).portunusOpenGate());
        expect(severed.shown).toBe('Moving directly (WebRTC)');
        expect(severed.closed).toBeGreaterThan(0);
        await page.locator('#progress-path').filter({ hasText: 'through the relay' }).waitFor({ timeout: STATE_MS });
        await waitState(page, 'done');
        expect(await page.locator('#done-text').textContent()).toContain('through the relay');
        expect(await exitOf(receiver, STATE_MS)).toBe(0);
        expect(sha256(await readFile(join(dir, 'dst', 'gated.bin')))).toBe(sha256(content));
        expect(receiver.events().find((e) => e.event === 'done')?.transport).toBe('relay');
        expect(pageProblems(page)).toEqual([]);
      });
    });
  });
});

/**
 * An init script: keeps every peer connection the page makes (`portunusPeers`), so a test can close them as a
 * failing network would end them.
 */
function keepPeerConnections(): void {
  const scope = globalThis as unknown as {
    RTCPeerConnection: new (...args: unknown[]) => { close(): void };
    portunusPeers: { close(): void }[];
    portunusRefusePeers: boolean;
  };
  const Native = scope.RTCPeerConnection;
  const peers: { close(): void }[] = [];
  scope.portunusPeers = peers;
  scope.portunusRefusePeers = false;
  scope.RTCPeerConnection = class extends Native {
    constructor(...args: unknown[]) {
      if (scope.portunusRefusePeers) throw new Error('no new peer connection: the test severed WebRTC for good');
      super(...args);
      peers.push(this);
    }
  };
}

/** An init script: every text `#progress-path` shows, in order (`portunusPathsShown`), however briefly. */
function recordPathsShown(): void {
  const scope = globalThis as unknown as {
    document: {
      addEventListener(type: string, listener: () => void): void;
      querySelector(selector: string): { textContent: string | null } | null;
    };
    MutationObserver: new (callback: () => void) => { observe(node: unknown, options: object): void };
    portunusPathsShown: string[];
  };
  const shown: string[] = [];
  scope.portunusPathsShown = shown;
  scope.document.addEventListener('DOMContentLoaded', () => {
    const path = scope.document.querySelector('#progress-path');
    if (path === null) return;
    const note = (): void => {
      const text = path.textContent ?? '';
      if (text !== '' && shown.at(-1) !== text) shown.push(text);
    };
    new scope.MutationObserver(note).observe(path, { childList: true, characterData: true, subtree: true });
  });
}

/**
 * An init script: the picked file called `name` reads its first `bytes` (or a little more: the browser's own pieces)
 * and then waits until `portunusOpenGate()`, so a sending page stays mid-transfer for as long as a test needs.
 */
function gateFile({ name, bytes }: { name: string; bytes: number }): void {
  type Reader = { read(): Promise<{ done: boolean; value?: unknown }> };
  type Controller = { enqueue(chunk: unknown): void; close(): void };
  const scope = globalThis as unknown as {
    Blob: { prototype: { stream(this: { name?: string }): { getReader(): Reader } } };
    ReadableStream: new (source: { pull(controller: Controller): Promise<void> }) => unknown;
    portunusOpenGate(): void;
  };
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  scope.portunusOpenGate = open;
  const native = scope.Blob.prototype.stream;
  scope.Blob.prototype.stream = function (this: { name?: string }) {
    if (this.name !== name) return native.call(this);
    const reader = native.call(this).getReader();
    let passed = 0;
    return new scope.ReadableStream({
      async pull(controller) {
        if (passed >= bytes) await gate;
        const next = await reader.read();
        if (next.done) return controller.close();
        passed += (next.value as { length: number }).length;
        controller.enqueue(next.value);
      },
    }) as { getReader(): Reader };
  };
}

/**
 * Run in the page: resolves once `#progress-path` says the data moves over WebRTC, after closing every peer
 * connection the page made, in that same task (so the data is on WebRTC when the path goes); with `refuseNew`, the
 * page can make no new one afterwards (keepPeerConnections). Rejects with what the page shows if that does not happen
 * within `timeoutMs` (a hang detector).
 */
function severOnWebRtc(opts: { timeoutMs: number; refuseNew: boolean }): Promise<{ shown: string; closed: number }> {
  const { timeoutMs, refuseNew } = opts;
  const scope = globalThis as unknown as {
    document: { querySelector(selector: string): { textContent: string | null } };
    MutationObserver: new (callback: () => void) => {
      observe(node: unknown, options: object): void;
      disconnect(): void;
    };
    portunusPeers: { close(): void }[];
    portunusRefusePeers: boolean;
  };
  return new Promise((resolve, reject) => {
    const path = scope.document.querySelector('#progress-path');
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`the page never showed WebRTC carrying the data (it shows "${path.textContent}")`));
    }, timeoutMs);
    const check = () => {
      const shown = path.textContent ?? '';
      if (!shown.includes('WebRTC')) return;
      observer.disconnect();
      clearTimeout(timer);
      scope.portunusRefusePeers = refuseNew;
      for (const peer of scope.portunusPeers) peer.close();
      resolve({ shown, closed: scope.portunusPeers.length });
    };
    const observer = new scope.MutationObserver(check);
    observer.observe(path, { childList: true, characterData: true, subtree: true });
    check();
  });
}

/** The sender's moves onto WebRTC so far. */
function toWebRtc(p: Proc): Record<string, unknown>[] {
  return p.events().filter((e) => e.event === 'transport' && e.to === 'webrtc');
}

/** Resolves once `ok()` holds, checked whenever `p` prints (event-driven; no sleeping); rejects if `p` exits first. */
async function untilEvent(p: Proc, ok: () => boolean, what: string): Promise<void> {
  for (;;) {
    if (ok()) return;
    if (p.child.exitCode !== null) throw new Error(`exited before ${what}: ${p.stdout()} ${p.stderr()}`.slice(-3000));
    await Promise.race([p.exited, new Promise((resolve) => p.child.stdout!.once('data', resolve))]);
  }
}

function errorOf(p: Proc): unknown {
  return p.events().find((e) => e.event === 'error')?.error;
}
