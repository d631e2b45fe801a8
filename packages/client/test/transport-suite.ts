/**
 * One test suite for every Transport (automerge-repo's network-adapter-tests model): the same frames, in both
 * directions, with the same backpressure and end-of-path behaviour, whatever carries them. relay.test.ts and
 * webrtc.test.ts run it against a real relay pipe and a real werift data channel.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES } from '@portunus/protocol';
import { Link, type Transport } from '@portunus/client';

export interface TransportPair {
  a: Transport;
  b: Transport;
  /** Tears down one side's whole path, as a crashed or finished peer would. */
  drop(side: 'a' | 'b'): Promise<void>;
  dispose(): Promise<void>;
}

/** The pair for two ends that close themselves: dropping a side closes it, disposing closes both. */
export function closingPair(a: Transport, b: Transport): TransportPair {
  const ends = { a, b };
  return {
    a,
    b,
    drop: (side) => ends[side].close(),
    dispose: async () => {
      await Promise.all([a.close(), b.close()]);
    },
  };
}

/** closingPair of two connection attempts, which must both have succeeded (else what each one failed with). */
export function settledPair(results: PromiseSettledResult<Transport>[]): TransportPair {
  const [a, b] = results;
  if (a?.status !== 'fulfilled' || b?.status !== 'fulfilled') {
    throw new Error(
      `the direct connection failed: ${results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).join(', ')}`,
    );
  }
  return closingPair(a.value, b.value);
}

const MiB = 1024 * 1024;
const WAIT_MS = 20_000;
/**
 * The bound on the backpressure test's 40 MiB: a hang detector, not a speed target (under the suite's test timeout).
 * werift carries ~20 MB/s here alone and took more than 20 s for it with the machine ten times oversubscribed.
 */
const BULK_MS = 120_000;
const SIZES = [1, 29, 1000, 64 * 1024, 64 * 1024 + 1, 256 * 1024 + 29, MAX_FRAME_BYTES];

const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Rejects after `ms` naming what was awaited: a hang is a failure, never a stuck test. */
export function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls a condition (every 10 ms, bounded): for states that no event announces, like "this send is waiting". */
export async function eventually(predicate: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Reads exactly `n` frames (bounded in time). */
export async function take(transport: Transport, n: number, ms = WAIT_MS): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  if (n === 0) return got;
  await within(
    (async () => {
      for await (const frame of transport.frames()) {
        got.push(new Uint8Array(frame));
        if (got.length === n) return;
      }
      throw new Error(`the stream ended after ${got.length} of ${n} frames`);
    })(),
    `${n} frames`,
    ms,
  );
  return got;
}

async function sendAll(transport: Transport, frames: Uint8Array[]): Promise<void> {
  for (const frame of frames) await transport.send(new Uint8Array(frame)); // the transport owns what it is given
}

export function transportSuite(name: string, open: () => Promise<TransportPair>): void {
  describe(`${name} transport (shared suite)`, () => {
    let pair: TransportPair;
    beforeEach(async () => {
      pair = await open();
    });
    afterEach(async () => {
      await pair.dispose();
    });

    for (const [from, to] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      it(`${from} → ${to}: every frame arrives once, in order, unchanged (1 byte … 1 MiB + 29)`, async () => {
        const frames = SIZES.map((size) => randomBytes(size));
        const [, got] = await Promise.all([
          within(sendAll(pair[from], frames), 'sending'),
          take(pair[to], frames.length),
        ]);
        expect(got.map(digest)).toEqual(frames.map(digest));
        expect(got.map((f) => f.length)).toEqual(SIZES);
      });
    }

    it('through a Link, sends handed over all at once go out one after another, in order (data, acks and control share a path)', async () => {
      const link = new Link(pair.a);
      const frames = Array.from({ length: 48 }, (_, i) => randomBytes(29 + ((i * 7919) % (64 * 1024))));
      const [, got] = await Promise.all([
        within(Promise.all(frames.map((f) => link.send(new Uint8Array(f)))), 'sending'),
        take(pair.b, frames.length),
      ]);
      expect(got.map(digest)).toEqual(frames.map(digest));
    });

    it('carries both directions at once', async () => {
      const ab = Array.from({ length: 24 }, (_, i) => randomBytes(1000 + i * 7919));
      const ba = Array.from({ length: 24 }, (_, i) => randomBytes(2000 + i * 4099));
      const [, , gotB, gotA] = await Promise.all([
        within(sendAll(pair.a, ab), 'a sending'),
        within(sendAll(pair.b, ba), 'b sending'),
        take(pair.b, ab.length),
        take(pair.a, ba.length),
      ]);
      expect(gotB.map(digest)).toEqual(ab.map(digest));
      expect(gotA.map(digest)).toEqual(ba.map(digest));
    });

    it('makes the sender wait while the reader does not read, then delivers everything in order', async () => {
      const FRAME = 256 * 1024;
      const TOTAL = 40 * MiB;
      const state = { sent: 0, waiting: false };
      const pump = (async () => {
        for (let i = 0; state.sent < TOTAL; i++) {
          state.waiting = true;
          await pair.a.send(new Uint8Array(FRAME).fill(i & 0xff));
          state.waiting = false;
          state.sent += FRAME;
        }
      })();
      pump.catch(() => undefined);
      await eventually(() => state.waiting, 'the sender to wait');
      // What is in flight is bounded by the transport's window and (for TCP) kernel buffers, never the whole file.
      expect(state.sent).toBeLessThan(TOTAL / 2);
      const frames = await take(pair.b, TOTAL / FRAME, BULK_MS);
      expect(frames.every((f, i) => f.length === FRAME && f[0] === (i & 0xff) && f[FRAME - 1] === (i & 0xff))).toBe(
        true,
      );
      await within(pump, 'the sender to finish');
    });

    it('ends the reader when the other side goes away, and sending there fails', async () => {
      await within(pair.a.send(randomBytes(100)), 'one frame');
      await take(pair.b, 1);
      await pair.drop('a');
      const outcome = await within(
        (async () => {
          try {
            for await (const frame of pair.b.frames()) void frame;
            return 'ended';
          } catch {
            return 'failed';
          }
        })(),
        'the reader to notice',
      );
      expect(['ended', 'failed']).toContain(outcome);
      await expect(pair.a.send(randomBytes(100))).rejects.toThrow();
    });
  });
}
