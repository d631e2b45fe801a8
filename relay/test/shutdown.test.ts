import { describe, expect, it, vi } from 'vitest';
import { defaultRelayConfig } from '../src/config.js';
import { CLOSE_HANDSHAKE_MS, shutdownSchedule } from '../src/shutdown-schedule.js';
import { pipe, RawClient, startTestRelay, within } from './helpers.js';

describe('graceful shutdown', () => {
  it('closes idle connections with 4010 at once and lets a running pipe finish within the grace', async () => {
    const relay = await startTestRelay({ graceMs: 60_000 });
    const { a, b } = await pipe(relay.url);
    const idle = await RawClient.hello(relay.url);
    const waiting = await RawClient.hello(relay.url);
    waiting.json({ type: 'allocate' });
    await waiting.expect('allocated');

    const closing = relay.close();
    expect(relay.health().status).toBe('draining');
    expect(await idle.expect('error')).toMatchObject({ code: 'RELAY_SHUTDOWN' });
    expect(await idle.closeCode()).toBe(4010);
    expect(await waiting.closeCode()).toBe(4010);
    await expect(RawClient.connect(relay.url)).rejects.toThrow();

    // The transfer goes on during the grace period, in both directions.
    a.ws.send(Buffer.alloc(100_000, 1));
    b.json({ type: 'msg', body: 'AA' });
    await b.until(() => b.binaryBytes === 100_000, 'data during the grace period');
    await a.expect('msg');
    a.json({ type: 'done', ok: true });
    a.close();
    b.close();
    expect(await a.closeCode()).not.toBe(4010);
    // Resolves once the last transfer is gone, long before the 60 s grace (bounded here by 10 s).
    await within(closing, 'close() after the last transfer ended');
  });

  it('closes transfers still running when the grace period ends with 4010', async () => {
    const relay = await startTestRelay({ graceMs: 60_000 });
    const { a, b } = await pipe(relay.url);
    const closing = relay.close(100);
    expect(await a.expect('error')).toMatchObject({ code: 'RELAY_SHUTDOWN' });
    expect(await a.closeCode()).toBe(4010);
    expect(await b.closeCode()).toBe(4010);
    await within(closing, 'close()');
  });

  it('a second close(0) cuts the grace period short', async () => {
    const relay = await startTestRelay({ graceMs: 60_000 });
    const { a, b } = await pipe(relay.url);
    const closing = relay.close();
    await relay.close(0);
    expect(await a.closeCode()).toBe(4010);
    expect(await b.closeCode()).toBe(4010);
    await within(closing, 'close()');
  });
});

describe('the shutdown fits in the grace period', () => {
  it.each([0, 1, 100, 8000, 60_000])('grace %d ms: drain plus closing handshake take exactly the grace', (grace) => {
    const { drainMs, handshakeMs } = shutdownSchedule(grace);
    expect(drainMs + handshakeMs).toBe(grace);
    expect(handshakeMs).toBeLessThanOrEqual(Math.min(CLOSE_HANDSHAKE_MS, grace));
  });

  it("defaults to a grace under docker stop's 10 s, with margin", () => {
    expect(defaultRelayConfig.graceMs).toBeLessThanOrEqual(8000);
  });

  it('a relay whose clients never answer has stopped when its grace period ends (fake time)', async () => {
    const [realSetTimeout, realClearTimeout] = [globalThis.setTimeout, globalThis.clearTimeout];
    let timer: NodeJS.Timeout | undefined;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const grace = 8000;
      const relay = await startTestRelay({ graceMs: grace });
      const { a, b } = await pipe(relay.url);
      // Clients that stopped reading: they neither finish their transfer nor answer the closing handshake.
      a.ws.pause();
      b.ws.pause();
      let stopped = false;
      const closing = relay.close().then(() => void (stopped = true));
      await vi.advanceTimersByTimeAsync(grace - 1);
      expect(stopped).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      // What is left is real I/O (the terminated sockets closing), bounded here in real time.
      const bound = new Promise<void>((_, reject) => {
        timer = realSetTimeout(() => reject(new Error('the relay still runs after its grace')), 10_000);
      });
      await Promise.race([closing, bound]);
      expect(stopped).toBe(true);
    } finally {
      realClearTimeout(timer);
      vi.useRealTimers();
    }
  });
});
