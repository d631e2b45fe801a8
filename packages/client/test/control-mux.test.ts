/**
 * The control channel across paths (control-mux.ts, PROTOCOL.md §5.7): sealed messages go out on the relay and every
 * direct path, come back once each and in order, and the relay's end only ends the session without a direct path.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeAead } from '@portunus/protocol/node';
import { createError, FrameSealer } from '@portunus/protocol';
import { type ControlChannel, ControlMux, Link, type PeerEvent, type Transport } from '@portunus/client';

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

/** A direct path the test drives: what was sent on it, frames to deliver from it, and its end. */
class FakePath implements Transport {
  readonly kind = 'tcp' as const;
  readonly sent: Uint8Array[] = [];
  private readonly inbox: Uint8Array[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  async send(frame: Uint8Array): Promise<void> {
    this.sent.push(frame);
  }
  async *frames(): AsyncIterable<Uint8Array> {
    for (;;) {
      const frame = this.inbox.shift();
      if (frame !== undefined) yield frame;
      else if (this.ended) return;
      else await new Promise<void>((r) => (this.wake = r));
    }
  }
  async close(): Promise<void> {
    this.end();
  }
  deliver(frame: Uint8Array): void {
    this.inbox.push(frame);
    this.wake?.();
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
}

const settled = () => new Promise<void>((r) => setImmediate(r));

async function nextBody(mux: ControlMux): Promise<Uint8Array> {
  const event = await mux.nextEvent();
  if (event.type !== 'message') throw new Error(`expected a message, got ${event.type}`);
  return event.body;
}

describe('ControlMux', () => {
  it('sends each message on the relay and on every direct path', async () => {
    const relay = new FakeRelay();
    const direct = new FakePath();
    const mux = new ControlMux(relay);
    mux.addPath(new Link(direct));
    const body = new FrameSealer(nodeAead(randomBytes(32)), 0).seal(new Uint8Array([1]));
    mux.sendMessage(body);
    await settled();
    expect(relay.sent).toEqual([body]);
    expect(direct.sent).toEqual([body]);
  });

  it('delivers copies from the relay and a direct path once each, in order', async () => {
    const relay = new FakeRelay();
    const mux = new ControlMux(relay);
    const direct = new FakePath();
    mux.addPath(new Link(direct));
    const s = new FrameSealer(nodeAead(randomBytes(32)), 0);
    const m = [0, 1, 2].map((i) => s.seal(new Uint8Array([i])));
    relay.push(m[0]!);
    direct.deliver(m[1]!);
    direct.deliver(m[0]!);
    relay.push(m[1]!);
    relay.push(m[2]!);
    expect([await nextBody(mux), await nextBody(mux), await nextBody(mux)]).toEqual(m);
  });

  it('the relay ending with a direct path up: the session goes on over it; when that ends too, it fails', async () => {
    const relay = new FakeRelay();
    const mux = new ControlMux(relay);
    const direct = new FakePath();
    mux.addPath(new Link(direct));
    relay.end();
    await settled();
    const s = new FrameSealer(nodeAead(randomBytes(32)), 0);
    const receipt = s.seal(new Uint8Array([9]));
    mux.sendMessage(receipt);
    await settled();
    expect(direct.sent).toEqual([receipt]);
    direct.deliver(receipt);
    expect(await nextBody(mux)).toEqual(receipt);
    direct.end();
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
