import { describe, expect, it } from 'vitest';
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
