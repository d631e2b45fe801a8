/**
 * WebRtcTransport's werift wiring on a scripted channel (fakes of the few werift members it uses). The protocol
 * rules (binding, window, credits) are ChannelTransport's, checked once in channel-transport.test.ts; here only what
 * WeriftChannel adds: a MAC that arrives before the transport is bound is kept (werift drops messages nobody
 * listens to), text and binary messages are told apart, werift's 'closing' counts as closed, and its low-water
 * event is wired at the threshold WebRtcTransport was tuned with.
 */
import { describe, expect, it } from 'vitest';
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { asKey, bindingMac, encodeChannelMessage } from '@portunus/protocol';
import { WebRtcTransport, type Binding } from '../../src/transport/webrtc.js';
import { WeriftChannel } from '../../src/transport/werift-channel.js';
import { within } from '@portunus/client/transport-suite';

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

function fakes() {
  const dc = new FakeChannel();
  const pc = { connectionStateChange: new FakeEvent<[string]>(), close: async () => undefined };
  return { dc, pc };
}

function setup() {
  const { dc, pc } = fakes();
  const transport = new WebRtcTransport(pc as unknown as RTCPeerConnection, dc as unknown as RTCDataChannel);
  const receive = (data: string | Buffer) => dc.onMessage.execute(data);
  return { dc, transport, receive };
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

  it("WeriftChannel: werift's events reach the handlers, 'closing' counts as closed, the low-water threshold is set", () => {
    const { dc, pc } = fakes();
    const seen: unknown[] = [];
    const channel = new WeriftChannel(pc as unknown as RTCPeerConnection, dc as unknown as RTCDataChannel);
    channel.listen(
      {
        onMessage: (data) => seen.push(typeof data === 'string' ? data : ['binary', Buffer.from(data).toString()]),
        onLow: () => seen.push('low'),
        onOpen: () => seen.push('open'),
        onEnd: (why) => seen.push(`end:${why}`),
      },
      12_345,
    );
    expect(dc.bufferedAmountLowThreshold).toBe(12_345);
    dc.onMessage.execute('{"type":"credit"}');
    dc.onMessage.execute(Buffer.from('frame'));
    dc.bufferedAmountLow.execute();
    dc.stateChanged.execute('open');
    dc.stateChanged.execute('closing');
    pc.connectionStateChange.execute('failed');
    expect(seen).toEqual(['{"type":"credit"}', ['binary', 'frame'], 'low', 'open', 'end:closed', 'end:lost']);
    // werift's send() on a closing channel queues and never delivers: ChannelTransport must see it as closed.
    dc.readyState = 'closing';
    expect(channel.readyState()).toBe('closed');
  });
});
