/**
 * WebRtcTransport's rules on a scripted channel (fakes of the few werift members it uses), for what a real peer
 * would never do: data before the binding MAC, a wrong or repeated MAC, a credit for bytes never sent, more data
 * than the window allows, and a send on a channel werift would silently swallow.
 */
import { describe, expect, it } from 'vitest';
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { asKey, bindingMac, DIRECT_WINDOW_BYTES, encodeChannelMessage } from '../../src/protocol.js';
import { WebRtcTransport, type Binding } from '../../src/transport/webrtc.js';
import { within } from './transport-suite.js';

class FakeEvent<T extends unknown[]> {
  private readonly subs = new Set<(...args: T) => void>();
  subscribe(fn: (...args: T) => void) {
    this.subs.add(fn);
    return { unSubscribe: () => void this.subs.delete(fn) };
  }
  execute(...args: T): void {
    for (const fn of [...this.subs]) fn(...args);
  }
}

class FakeChannel {
  readyState: 'connecting' | 'open' | 'closing' | 'closed' = 'open';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  readonly sent: (string | Buffer)[] = [];
  readonly onMessage = new FakeEvent<[string | Buffer]>();
  readonly bufferedAmountLow = new FakeEvent<[]>();
  readonly stateChanged = new FakeEvent<[string]>();
  send(data: string | Buffer): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 'closed';
  }
}

const key = asKey('binding', new Uint8Array(32).fill(3));
const ours = new Uint8Array(32).fill(1);
const theirs = new Uint8Array(32).fill(2);
const binding: Binding = { key, role: 'receive', localFingerprint: ours, remoteFingerprint: theirs };
/** The MAC an honest sender on the other end of this DTLS connection sends. */
const peerMac = bindingMac(key, 'send', theirs, ours);

function setup() {
  const dc = new FakeChannel();
  const pc = { connectionStateChange: new FakeEvent<[string]>(), close: async () => undefined };
  const transport = new WebRtcTransport(pc as unknown as RTCPeerConnection, dc as unknown as RTCDataChannel);
  const receive = (data: string | Buffer) => dc.onMessage.execute(data);
  return { dc, transport, receive };
}

async function firstError(transport: WebRtcTransport): Promise<unknown> {
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

describe('WebRtcTransport on a scripted channel', () => {
  it('binds with a MAC that arrived before its own certificates were known, and sends its own first', async () => {
    const { dc, transport, receive } = setup();
    receive(encodeChannelMessage({ type: 'binding', mac: peerMac }));
    await within(transport.bind(binding, new AbortController().signal), 'binding');
    expect(dc.sent).toEqual([encodeChannelMessage({ type: 'binding', mac: bindingMac(key, 'receive', ours, theirs) })]);
    receive(Buffer.from('frame'));
    const frame = await within(
      (async () => {
        for await (const f of transport.frames()) return f;
        return undefined;
      })(),
      'a frame',
    );
    expect(Buffer.from(frame!).toString()).toBe('frame');
  });

  it.each([
    ['data before the binding MAC', [Buffer.from('early')]],
    ['a MAC for other certificates', [encodeChannelMessage({ type: 'binding', mac: bindingMac(key, 'send', ours, theirs) })]],
    ['a reflected MAC', [encodeChannelMessage({ type: 'binding', mac: bindingMac(key, 'receive', ours, theirs) })]],
  ])('refuses %s with BINDING_MISMATCH', async (_, messages) => {
    const { transport, receive } = setup();
    const bound = transport.bind(binding, new AbortController().signal);
    for (const m of messages) receive(m);
    await expect(within(bound, 'binding')).rejects.toMatchObject({ code: 'BINDING_MISMATCH' });
  });

  it('refuses a second binding message after a good one', async () => {
    const { transport, receive } = setup();
    const bound = transport.bind(binding, new AbortController().signal);
    receive(encodeChannelMessage({ type: 'binding', mac: peerMac }));
    await within(bound, 'binding');
    receive(encodeChannelMessage({ type: 'binding', mac: peerMac }));
    expect(await firstError(transport)).toMatchObject({ code: 'BINDING_MISMATCH' });
  });

  async function bound() {
    const s = setup();
    const done = s.transport.bind(binding, new AbortController().signal);
    s.receive(encodeChannelMessage({ type: 'binding', mac: peerMac }));
    await within(done, 'binding');
    return s;
  }

  it('fails a peer that sends beyond the window (flow control), before queueing more', async () => {
    const { transport, receive } = await bound();
    const chunk = Buffer.alloc(1024 * 1024);
    for (let sent = 0; sent <= DIRECT_WINDOW_BYTES; sent += chunk.length) receive(chunk);
    expect(await firstError(transport)).toMatchObject({ code: 'PROTOCOL', message: expect.stringMatching(/flow control/) });
  });

  it('fails a credit for bytes it never sent, and an unknown text message', async () => {
    const a = await bound();
    a.receive(encodeChannelMessage({ type: 'credit', bytes: 10 }));
    expect(await firstError(a.transport)).toMatchObject({ code: 'PROTOCOL', message: expect.stringMatching(/credit/) });
    const b = await bound();
    b.receive('{"type":"hello"}');
    expect(await firstError(b.transport)).toMatchObject({ code: 'PROTOCOL' });
  });

  it('waits for credit at the window, and resumes when it comes', async () => {
    const { dc, transport, receive } = await bound();
    const frame = new Uint8Array(1024 * 1024);
    for (let i = 0; i < DIRECT_WINDOW_BYTES / frame.length; i++) await transport.send(frame);
    let resumed = false;
    const next = transport.send(frame).then(() => (resumed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(resumed).toBe(false);
    receive(encodeChannelMessage({ type: 'credit', bytes: frame.length }));
    await within(next, 'the send after the credit');
    expect(dc.sent.filter((d) => typeof d !== 'string')).toHaveLength(DIRECT_WINDOW_BYTES / frame.length + 1);
  });

  it('refuses to send on a channel that is no longer open (werift would drop it silently)', async () => {
    const { dc, transport } = await bound();
    dc.readyState = 'closing';
    await expect(transport.send(new Uint8Array(10))).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(dc.sent.filter((d) => typeof d !== 'string')).toEqual([]);
  });
});
