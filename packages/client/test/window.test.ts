/**
 * How much the sender keeps in flight (switching-send.ts, PROTOCOL.md §5.4): WINDOW_BYTES on a direct path and
 * RELAY_WINDOW_BYTES on the relay, whose queues are longer. The receiver here never acknowledges anything, so what
 * the path is handed is exactly what the window lets out.
 */
import { describe, expect, it } from 'vitest';
import { nodeAead, nodeSha256 } from '@portunus/protocol/node';
import { AckOpener, frameOverhead, FrameSealer, type PathKind } from '@portunus/protocol';
import { Link, RELAY_WINDOW_BYTES, SwitchingSender, WINDOW_BYTES, type Transport } from '@portunus/client';

const MiB = 1024 * 1024;

/** A path that takes every frame and never brings anything back. */
class Sink implements Transport {
  sent = 0;
  private end: (() => void) | undefined;
  constructor(readonly kind: PathKind) {}
  async send(): Promise<void> {
    this.sent += 1;
  }
  frames(): AsyncIterable<Uint8Array> {
    const ended = new Promise<void>((resolve) => (this.end = resolve));
    return (async function* () {
      await ended;
    })();
  }
  async close(): Promise<void> {
    this.end?.();
  }
}

/** Frames the sender hands `kind`'s path before it waits for an ack (it gets many turns to send more). */
async function inFlight(kind: PathKind): Promise<number> {
  const abort = new AbortController();
  const transport = new Sink(kind);
  const key = new Uint8Array(32);
  const sender = new SwitchingSender({
    chunks: (async function* () {
      for (let i = 0; i < 64; i++) yield new Uint8Array(MiB);
    })(),
    sealer: new FrameSealer(nodeAead(key), 1),
    acks: new AckOpener(nodeAead(key)),
    sha256: nodeSha256,
    now: () => performance.now(),
    signal: abort.signal,
    stallMs: 600_000,
    onProgress: () => undefined,
    onSwitch: () => undefined,
    pendingPaths: () => 0,
  });
  sender.addPath(new Link(transport));
  const running = sender.run().catch(() => undefined);
  // Ample turns of the event loop for the sender to hand over everything the window allows (no clock involved).
  for (let i = 0; i < 2000; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  const frames = transport.sent;
  abort.abort();
  await running;
  return frames;
}

describe('the retransmit window per path', () => {
  it.each([
    ['relay', RELAY_WINDOW_BYTES],
    ['tcp', WINDOW_BYTES],
    ['webrtc', WINDOW_BYTES],
  ] as const)('on %s: as many 1 MiB frames as fit in %d bytes, then it waits for acks', async (kind, bytes) => {
    expect(await inFlight(kind)).toBe(Math.floor(bytes / (MiB + frameOverhead)));
  });
});
