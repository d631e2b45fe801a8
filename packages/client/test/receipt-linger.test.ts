/**
 * The last receipt over a direct path when the relay is gone for good (PROTOCOL.md §4.9, §6.4 "Shutdown"): the
 * receiver sends `received` and its session is over, but its direct paths stay open until the sender closes them
 * (at most RECEIPT_LINGER_MS). Without that, closing at once can end the sender's path before the receipt is read:
 * node-datachannel hands a channel's close and its messages to JavaScript through separate queues, so the close may
 * come first, and a TCP close with unread data resets the connection. The path here is an in-memory one whose close
 * overtakes the frames still on their way, as those can; the fault lives in the harness, never in the product.
 */
import { describe, expect, it, vi } from 'vitest';
import { nodeAead } from '@portunus/protocol/node';
import {
  createError,
  type Digest,
  type PortunusError,
  secureRandomBytes,
  type SessionConfig,
} from '@portunus/protocol';
import {
  AsyncQueue,
  type ControlChannel,
  ControlMux,
  type DataContext,
  driveSession,
  Link,
  type PeerEvent,
  RECEIPT_LINGER_MS,
  type Transport,
} from '@portunus/client';

const DIGEST: Digest = { bytes: 3, sha256: 'ab'.repeat(32) };

/** One side of an in-memory relay connection; `die()` ends both sides, as a relay killed for good does. */
class MemoryRelay implements ControlChannel {
  readonly inbox = new AsyncQueue<PeerEvent>(64);
  peer!: MemoryRelay;
  private dead: PortunusError | undefined;
  constructor(readonly side: 'a' | 'b') {
    void this.inbox.push({ type: 'paired', paired: { side, sid: new Uint8Array(16).fill(7) } });
  }
  sendMessage(body: Uint8Array): void {
    if (this.dead) throw this.dead;
    void this.peer.inbox.push({ type: 'message', body });
  }
  nextEvent(): Promise<PeerEvent> {
    return this.inbox.shift();
  }
  burn(): void {}
  die(): void {
    for (const end of [this, this.peer]) {
      end.dead = createError('RELAY_UNREACHABLE', 'the relay did not come back');
      end.inbox.fail(end.dead);
    }
  }
}

/**
 * One end of an in-memory direct path. A frame reaches the peer a turn of the event loop after it was sent; a close
 * reaches it at once and takes with it whatever had not arrived yet.
 */
class OvertakingEnd implements Transport {
  readonly kind = 'tcp' as const;
  peer!: OvertakingEnd;
  closedHere = false;
  private readonly inbox: Uint8Array[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  async send(frame: Uint8Array): Promise<void> {
    if (this.ended) throw createError('INTERRUPTED', 'the direct connection was closed');
    const copy = frame.slice();
    setImmediate(() => this.peer.deliver(copy));
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
    this.closedHere = true;
    for (const end of [this, this.peer]) end.end();
  }
  private deliver(frame: Uint8Array): void {
    if (!this.ended) (this.inbox.push(frame), this.wake?.());
  }
  private end(): void {
    this.ended = true;
    this.inbox.length = 0;
    this.wake?.();
  }
}

function config(role: 'send' | 'receive'): SessionConfig {
  return {
    role,
    code: { nameplate: 3, secret: 'ABC123' },
    abilities: ['relay-v1'],
    aead: nodeAead,
    random: secureRandomBytes,
    ...(role === 'send' ? { offer: { kind: 'file' as const, name: 'x.bin', size: 3 } } : {}),
  };
}

/**
 * A whole session whose relay dies once the data is in: `sent` and `received` can travel only on the direct path,
 * which each side hands to its control channel (and closes when its session is over) as the path layer does.
 */
async function sessionOverDirectPathOnly(now: () => number = () => performance.now()) {
  const relays = { a: new MemoryRelay('a'), b: new MemoryRelay('b') };
  relays.a.peer = relays.b;
  relays.b.peer = relays.a;
  const ends = { send: new OvertakingEnd(), receive: new OvertakingEnd() };
  ends.send.peer = ends.receive;
  ends.receive.peer = ends.send;
  const muxes = { send: new ControlMux(relays.a), receive: new ControlMux(relays.b) };
  let receiverUp!: () => void;
  const up = new Promise<void>((r) => (receiverUp = r));
  const usePath = (role: 'send' | 'receive', ctx: DataContext) => {
    const link = new Link(ends[role]);
    muxes[role].addPath(link);
    ctx.defer(() => link.close());
  };
  const drive = (role: 'send' | 'receive') =>
    driveSession(muxes[role], {
      relayName: 'mem',
      config: config(role),
      waitMs: 60_000,
      stallMs: 60_000,
      hooks:
        role === 'send'
          ? {
              sendData: async (ctx) => {
                usePath('send', ctx);
                await up;
                relays.a.die();
                // Both control channels have heard of it before `sent` goes out.
                await new Promise<void>((r) => setImmediate(r));
                return DIGEST;
              },
            }
          : {
              onOffer: async () => ({ accept: true }),
              receiveData: async (ctx) => {
                usePath('receive', ctx);
                receiverUp();
                return DIGEST;
              },
              commit: async () => undefined,
            },
    }).then(
      (digest) => ({ ok: true as const, digest, at: now() }),
      (error: unknown) => ({ ok: false as const, error: error as PortunusError, at: now() }),
    );
  const [sender, receiver] = await Promise.all([drive('send'), drive('receive')]);
  return { sender, receiver, ends };
}

describe('the receipt on a direct path once the relay is gone (§4.9)', () => {
  it('the receiver keeps the path open until the sender has read `received` and closed it: both succeed', async () => {
    const { sender, receiver, ends } = await sessionOverDirectPathOnly();
    expect(receiver).toMatchObject({ ok: true, digest: DIGEST });
    expect(sender, sender.ok ? '' : `${sender.error.code}: ${sender.error.message}`).toMatchObject({
      ok: true,
      digest: DIGEST,
    });
    // The sender closed first: the receiver's own close came after the path had already ended.
    expect(ends.send.closedHere).toBe(true);
    expect(sender.at).toBeLessThanOrEqual(receiver.at);
  });

  it('the lingering is bounded: a sender that never closes holds the receiver RECEIPT_LINGER_MS, no more', async () => {
    vi.useFakeTimers();
    try {
      const relay = new MemoryRelay('b');
      relay.peer = new MemoryRelay('a');
      const mux = new ControlMux(relay);
      const end = new OvertakingEnd();
      end.peer = new OvertakingEnd();
      end.peer.peer = end;
      mux.addPath(new Link(end));
      let over = false;
      const lingering = mux.linger(RECEIPT_LINGER_MS).then(() => (over = true));
      await vi.advanceTimersByTimeAsync(RECEIPT_LINGER_MS - 1);
      expect(over).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await lingering;
      expect(over).toBe(true);
      // No direct path: nothing to wait for, no timer needed.
      let bare = false;
      void new ControlMux(new MemoryRelay('b')).linger(RECEIPT_LINGER_MS).then(() => (bare = true));
      await vi.advanceTimersByTimeAsync(0);
      expect(bare).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
