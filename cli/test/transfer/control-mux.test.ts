/**
 * The control channel across paths (control-mux.ts, PROTOCOL.md §14): sealed messages go out on the relay and every
 * direct path, come back once each and in order, and the relay's end only ends the session without a direct path.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeAead } from '../../../packages/protocol/src/aead.node.js';
import { createError, FrameSealer } from '../../src/protocol.js';
import { ControlMux, isControlFrame } from '../../src/transfer/control-mux.js';
import type { ControlChannel } from '../../src/transfer/session-driver.js';
import type { Transport } from '../../src/transport/transport.js';

/** A relay connection the test drives: messages in, sent bodies recorded, an end it can trigger. */
class FakeRelay implements ControlChannel {
  sent: Uint8Array[] = [];
  private queue: Uint8Array[] = [];
  private ended: Error | undefined;
  private wake: (() => void) | undefined;
  sendMessage(body: Uint8Array): void {
    if (this.ended) throw this.ended;
    this.sent.push(body);
  }
  async nextMessage(): Promise<Uint8Array> {
    for (;;) {
      const body = this.queue.shift();
      if (body) return body;
      if (this.ended) throw this.ended;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
  burn(): void {}
  push(body: Uint8Array): void {
    this.queue.push(body);
    this.wake?.();
  }
  end(): void {
    this.ended = createError('RELAY_UNREACHABLE', 'lost the connection to the relay');
    this.wake?.();
  }
}

const fakePath = (sent: Uint8Array[]): Transport => ({
  kind: 'tcp',
  send: async (frame) => void sent.push(frame),
  frames: async function* () {},
  close: async () => undefined,
});

const settled = () => new Promise<void>((r) => setImmediate(r));

describe('ControlMux', () => {
  it('sends each message on the relay and on every direct path', () => {
    const relay = new FakeRelay();
    const direct: Uint8Array[] = [];
    const mux = new ControlMux(relay);
    mux.addPath(fakePath(direct));
    const body = new FrameSealer(nodeAead(randomBytes(32)), 0).seal(new Uint8Array([1]));
    mux.sendMessage(body);
    expect(relay.sent).toEqual([body]);
    expect(direct).toEqual([body]);
    expect(isControlFrame(body)).toBe(true);
  });

  it('delivers copies from the relay and a direct path once each, in order', async () => {
    const relay = new FakeRelay();
    const mux = new ControlMux(relay);
    const s = new FrameSealer(nodeAead(randomBytes(32)), 0);
    const m = [0, 1, 2].map((i) => s.seal(new Uint8Array([i])));
    relay.push(m[0]!);
    mux.deliver(m[1]!);
    mux.deliver(m[0]!);
    relay.push(m[1]!);
    relay.push(m[2]!);
    expect([await mux.nextMessage(), await mux.nextMessage(), await mux.nextMessage()]).toEqual(m);
  });

  it('the relay ending with a direct path up: the session goes on over it; when that ends too, it fails', async () => {
    const relay = new FakeRelay();
    const mux = new ControlMux(relay);
    const direct: Uint8Array[] = [];
    const path = fakePath(direct);
    mux.addPath(path);
    relay.end();
    await settled();
    const s = new FrameSealer(nodeAead(randomBytes(32)), 0);
    const receipt = s.seal(new Uint8Array([9]));
    mux.sendMessage(receipt);
    expect(direct).toEqual([receipt]);
    mux.deliver(receipt);
    expect(await mux.nextMessage()).toEqual(receipt);
    mux.removePath(path);
    await expect(mux.nextMessage()).rejects.toMatchObject({ code: 'RELAY_UNREACHABLE' });
  });

  it('the relay ending without a direct path ends the session, after the messages already received', async () => {
    const relay = new FakeRelay();
    const mux = new ControlMux(relay);
    const body = new FrameSealer(nodeAead(randomBytes(32)), 0).seal(new Uint8Array([1]));
    relay.push(body);
    relay.end();
    expect(await mux.nextMessage()).toEqual(body);
    await expect(mux.nextMessage()).rejects.toMatchObject({ code: 'RELAY_UNREACHABLE' });
    expect(() => mux.sendMessage(body)).toThrow(/relay/);
  });
});
