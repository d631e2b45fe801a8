/**
 * Backpressure through the relay: a sender pipes 256 MiB to a reader that does not read for a while. The relay
 * must stop reading from the sender (and TCP must then stop the sender) instead of buffering the file. Asserted
 * through the relay's own queue figures (stats()), which do not depend on the machine's load or its allocator.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayHandle } from '../src/server.js';
import { eventually, metricValue, pipe, pump, PUMP_FRAME as FRAME, startTestRelay, within } from './helpers.js';

const MiB = 1024 * 1024;
const TOTAL = 256 * MiB;
const HWM = MiB;

let relay: RelayHandle | undefined;
afterEach(async () => {
  await relay?.close(0);
  relay = undefined;
});

describe('relay backpressure', () => {
  it('keeps relay memory bounded while the reader stalls, then delivers every byte in order', async () => {
    relay = await startTestRelay({ highWaterMark: HWM, maxFrameBytes: MiB });
    const { a: sender, b: reader } = await pipe(relay.url);
    reader.ws.pause();

    const state = { sent: 0, waiting: false };
    const pumping = pump(sender.ws, TOTAL, HWM, state);
    // Stalled: the relay has stopped reading from the sender, and the sender waits for its own socket to drain.
    await eventually(() => relay!.stats().pausedConnections === 1 && state.waiting, 'the sender to stall', 30_000);
    const stalled = relay.stats();
    const sentAtStall = state.sent;
    console.log(
      `backpressure: stalled after ${(sentAtStall / MiB).toFixed(1)} MiB sent; relay queue ${(stalled.bufferedBytes / MiB).toFixed(2)} MiB`,
    );
    expect(stalled.bufferedBytes).toBeLessThanOrEqual(HWM + 2 * FRAME);
    // What is in flight sits in kernel socket buffers (a few MiB each on loopback), never the whole file.
    expect(sentAtStall).toBeLessThan(64 * MiB);
    expect(reader.binaryBytes).toBe(0);

    // Count and check frames without keeping them.
    let received = 0;
    let frames = 0;
    let inOrder = true;
    reader.ws.removeAllListeners('message');
    const done = new Promise<void>((resolve) => {
      reader.ws.on('message', (data: Buffer) => {
        if (data[0] !== (frames & 0xff) || data[data.length - 1] !== (frames & 0xff) || data.length !== FRAME)
          inOrder = false;
        frames++;
        received += data.length;
        if (received === TOTAL) resolve();
      });
    });
    reader.ws.resume();
    await within(Promise.all([pumping, done]), 'all data to arrive', 120_000);
    expect(inOrder).toBe(true);
    expect(received).toBe(TOTAL);
    const after = relay.stats();
    console.log(
      `backpressure: peak relay queue to one client ${(after.peakBufferedBytes / MiB).toFixed(2)} MiB over ${TOTAL / MiB} MiB`,
    );
    expect(after.peakBufferedBytes).toBeLessThanOrEqual(HWM + 2 * FRAME);
    expect(after.pausedConnections).toBe(0);
    expect(metricValue(await relay.metrics(), 'portunus_relay_bytes_relayed_total')).toBe(TOTAL);
  });
});
