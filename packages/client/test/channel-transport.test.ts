/**
 * ChannelTransport's rules on a scripted DirectChannel, for what a real peer would never do (for both engines;
 * webrtc-channel.test.ts checks only werift's wiring): data before the binding MAC, a wrong, reflected or repeated
 * MAC, a credit for bytes never sent, more data than the window allows, a send on a closed channel; and the one
 * race a native stack adds: the peer's close overtaking its own (wrong) MAC.
 */
import { describe, expect, it } from 'vitest';
import { asKey, bindingMac, DIRECT_WINDOW_BYTES, encodeChannelMessage } from '@portunus/protocol';
import { ChannelTransport, type Binding, type ChannelHandlers, type DirectChannel } from '@portunus/client';
import { within } from './transport-suite.js';

class FakeChannel implements DirectChannel {
  state: 'connecting' | 'open' | 'closed' = 'open';
  buffered = 0;
  readonly sent: (string | Uint8Array)[] = [];
  handlers!: ChannelHandlers;
  lowWater = -1;
  readyState() {
    return this.state;
  }
  sendText(text: string) {
    this.sent.push(text);
  }
  sendBinary(data: Uint8Array) {
    this.sent.push(data);
  }
  bufferedAmount() {
    return this.buffered;
  }
  listen(handlers: ChannelHandlers, lowWaterBytes: number) {
    this.handlers = handlers;
    this.lowWater = lowWaterBytes;
  }
  async close() {
    this.state = 'closed';
  }
}

const key = asKey('binding', new Uint8Array(32).fill(3));
const ours = new Uint8Array(32).fill(1);
const theirs = new Uint8Array(32).fill(2);
const binding: Binding = { key, role: 'receive', localFingerprint: ours, remoteFingerprint: theirs };
const peerMac = bindingMac(key, 'send', theirs, ours);
const HIGH = 1024 * 1024;

function setup() {
  const dc = new FakeChannel();
  const transport = new ChannelTransport(dc, { highWaterBytes: HIGH, lowWaterBytes: HIGH / 2 });
  const receive = (data: string | Uint8Array) => dc.handlers.onMessage(data);
  return { dc, transport, receive };
}

async function firstError(transport: ChannelTransport): Promise<unknown> {
  return within(
    (async () => {
      try {
        for await (const frame of transport.frames()) void frame;
      } catch (err) {
        return err;
      }
      return undefined;
    })(),
    'the reader to fail',
  );
}

async function bound() {
  const s = setup();
  const done = s.transport.bind(binding, new AbortController().signal);
  s.receive(encodeChannelMessage({ type: 'binding', mac: peerMac }));
  await within(done, 'binding');
  return s;
}

describe('ChannelTransport on a scripted channel', () => {
  it('sets the low-water mark it was given, binds with an early MAC, and sends its own MAC first', async () => {
    const { dc, transport, receive } = setup();
    expect(dc.lowWater).toBe(HIGH / 2);
    receive(encodeChannelMessage({ type: 'binding', mac: peerMac }));
    await within(transport.bind(binding, new AbortController().signal), 'binding');
    expect(dc.sent).toEqual([encodeChannelMessage({ type: 'binding', mac: bindingMac(key, 'receive', ours, theirs) })]);
    receive(new TextEncoder().encode('frame'));
    for await (const f of transport.frames()) {
      expect(new TextDecoder().decode(f)).toBe('frame');
      break;
    }
  });

  it.each([
    ['data before the binding MAC', [new Uint8Array(5)]],
    [
      'a MAC for other certificates',
      [encodeChannelMessage({ type: 'binding', mac: bindingMac(key, 'send', ours, theirs) })],
    ],
    ['a reflected MAC', [encodeChannelMessage({ type: 'binding', mac: bindingMac(key, 'receive', ours, theirs) })]],
  ])('refuses %s with BINDING_MISMATCH', async (_, messages) => {
    const { transport, receive } = setup();
    const binding_ = transport.bind(binding, new AbortController().signal);
    for (const m of messages) receive(m);
    await expect(within(binding_, 'binding')).rejects.toMatchObject({ code: 'BINDING_MISMATCH' });
  });

  it('reports BINDING_MISMATCH, not the close, when the peer closed after sending a wrong MAC', async () => {
    const { dc, transport, receive } = setup();
    receive(encodeChannelMessage({ type: 'binding', mac: bindingMac(key, 'send', ours, theirs) }));
    dc.state = 'closed';
    dc.handlers.onEnd('closed');
    await expect(within(transport.bind(binding, new AbortController().signal), 'binding')).rejects.toMatchObject({
      code: 'BINDING_MISMATCH',
    });
    expect(dc.sent).toEqual([]); // and our MAC was never sent
  });

  it('refuses a second binding message after a good one', async () => {
    const { transport, receive } = await bound();
    receive(encodeChannelMessage({ type: 'binding', mac: peerMac }));
    expect(await firstError(transport)).toMatchObject({ code: 'BINDING_MISMATCH' });
  });

  it('fails a peer that sends beyond the window, a credit for bytes never sent, and an unknown message', async () => {
    const a = await bound();
    for (let sent = 0; sent <= DIRECT_WINDOW_BYTES; sent += 1024 * 1024) a.receive(new Uint8Array(1024 * 1024));
    expect(await firstError(a.transport)).toMatchObject({
      code: 'PROTOCOL',
      message: expect.stringMatching(/flow control/),
    });
    const b = await bound();
    b.receive(encodeChannelMessage({ type: 'credit', bytes: 10 }));
    expect(await firstError(b.transport)).toMatchObject({ code: 'PROTOCOL', message: expect.stringMatching(/credit/) });
    const c = await bound();
    c.receive('{"type":"hello"}');
    expect(await firstError(c.transport)).toMatchObject({ code: 'PROTOCOL' });
  });

  it('waits for credit at the window and for the low-water event above the high-water mark', async () => {
    const { dc, transport, receive } = await bound();
    const frame = new Uint8Array(1024 * 1024);
    for (let i = 0; i < DIRECT_WINDOW_BYTES / frame.length; i++) await transport.send(frame);
    let resumed = false;
    const next = transport.send(frame).then(() => (resumed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(resumed).toBe(false);
    dc.buffered = HIGH + 1; // the credit frees the window, but the stack's queue is full
    receive(encodeChannelMessage({ type: 'credit', bytes: frame.length }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(resumed).toBe(false);
    dc.buffered = HIGH / 2;
    dc.handlers.onLow();
    await within(next, 'the send after the credit and the drain');
    expect(dc.sent.filter((d) => typeof d !== 'string')).toHaveLength(DIRECT_WINDOW_BYTES / frame.length + 1);
  });

  it('refuses to send on a channel that is no longer open', async () => {
    const { dc, transport } = await bound();
    dc.state = 'closed';
    await expect(transport.send(new Uint8Array(10))).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(dc.sent.filter((d) => typeof d !== 'string')).toEqual([]);
  });
});
