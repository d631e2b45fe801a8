/**
 * The control channel across paths (control-mux.ts, PROTOCOL.md §14): sealed messages go out on the relay and every
 * direct path, come back once each and in order, and the relay's end only ends the session without a direct path.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeAead } from '../../../packages/protocol/src/aead.node.js';
import { createError, FrameSealer } from '../../src/protocol.js';
import { ControlMux, isControlFrame } from '../../src/transfer/control-mux.js';
import type { PeerEvent } from '../../src/relay/client.js';
import type { ControlChannel } from '../../src/transfer/session-driver.js';
import type { Transport } from '../../src/transport/transport.js';

/** A relay connection the test drives: messages in, sent bodies recorded, an end it can trigger. */
class FakeRelay implements ControlChannel {
  sent: Uint8Array[] = [];
  private queue: PeerEvent[] = [];
  private ended: Error | undefined;
  private wake: (() => void) | undefined;
  sendMessage(body: Uint8Array): void {
    if (this.ended) throw this.ended;
    this.sent.push(body);
  }
  async nextEvent(): Promise<PeerEvent> {
    for (;;) {
      const event = this.queue.shift();
      if (event) return event;
      if (this.ended) throw this.ended;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
  burn(): void {}
  push(body: Uint8Array | PeerEvent): void {
    this.queue.push(body instanceof Uint8Array ? { type: 'message', body } : body);
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

async function nextBody(mux: ControlMux): Promise<Uint8Array> {
  const event = await mux.nextEvent();
  if (event.type !== 'message') throw new Error(`expected a message, got ${event.type}`);
  return event.body;
}

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
    expect([await nextBody(mux), await nextBody(mux), await nextBody(mux)]).toEqual(m);
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
    expect(await nextBody(mux)).toEqual(receipt);
    mux.removePath(path);
    await expect(nextBody(mux)).rejects.toMatchObject({ code: 'RELAY_UNREACHABLE' });
  });

  it('the relay ending without a direct path ends the session, after the messages already received', async () => {
    const relay = new FakeRelay();
    const mux = new ControlMux(relay);
    const body = new FrameSealer(nodeAead(randomBytes(32)), 0).seal(new Uint8Array([1]));
    relay.push(body);
    relay.end();
    expect(await nextBody(mux)).toEqual(body);
    await expect(nextBody(mux)).rejects.toMatchObject({ code: 'RELAY_UNREACHABLE' });
    expect(() => mux.sendMessage(body)).toThrow(/relay/);
  });

  it('a new pairing (after unpaired) starts the order over: the new session counts from 0 again', async () => {
    const relay = new FakeRelay();
    const mux = new ControlMux(relay);
    const first = new FrameSealer(nodeAead(randomBytes(32)), 0);
    relay.push(first.seal(new Uint8Array([0])));
    relay.push(first.seal(new Uint8Array([1])));
    relay.push({ type: 'unpaired' });
    const paired: PeerEvent = { type: 'paired', paired: { sid: new Uint8Array(16), side: 'a' } };
    relay.push(paired);
    const again = new FrameSealer(nodeAead(randomBytes(32)), 0).seal(new Uint8Array([7]));
    relay.push(again);
    expect((await mux.nextEvent()).type).toBe('message');
    expect((await mux.nextEvent()).type).toBe('message');
    expect(await mux.nextEvent()).toEqual({ type: 'unpaired' });
    expect(await mux.nextEvent()).toEqual(paired);
    expect(await nextBody(mux)).toEqual(again);
  });
});
