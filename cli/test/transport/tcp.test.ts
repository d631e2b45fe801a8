/**
 * The direct TCP path: the shared transport suite over two connectTcp() ends on 127.0.0.1, then the binding
 * handshake against strangers, a wrong key, an unreachable hint and replayed handshakes.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  asKey,
  isIpLiteral,
  MAX_TCP_HINTS,
  secureRandomBytes,
  TCP_NONCE_BYTES,
  tcpBindingMac,
  type Key,
  type Role,
  type TcpHint,
} from '@portunus/protocol';
import type { HintExchange } from '@portunus/client';
import { connectTcp, localHints } from '../../src/transport/tcp-connect.js';
import { INBOX_HIGH_BYTES, type TcpTransport } from '../../src/transport/tcp.js';
import { closingPair, take, transportSuite, within } from '@portunus/client/transport-suite';

const loopbackOnly = (port: number): TcpHint[] => [{ host: '127.0.0.1', port }];

/** Two hint exchanges back to back in memory; `rewrite` may change what each side announces. */
function memoryExchange(rewrite?: (from: Role, hints: TcpHint[]) => TcpHint[]) {
  const boxes = { send: deferred<TcpHint[]>(), receive: deferred<TcpHint[]>() };
  const side = (self: Role): HintExchange => ({
    sendHints: async (hints) =>
      boxes[self === 'send' ? 'receive' : 'send'].resolve(rewrite ? rewrite(self, hints) : hints),
    peerHints: (abort) => Promise.race([boxes[self].promise, aborted(abort)]),
  });
  return {
    send: side('send'),
    receive: side('receive'),
    announced: { send: boxes.receive.promise, receive: boxes.send.promise },
  };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function open(role: Role, key: Key<'binding'>, exchange: HintExchange, signal: AbortSignal): Promise<TcpTransport> {
  return connectTcp({
    role,
    bindingKey: key,
    exchange,
    random: secureRandomBytes,
    signal,
    listenHost: '127.0.0.1',
    hintsFor: loopbackOnly,
  });
}

const newKey = () => asKey('binding', randomBytes(32));

/** A sender and a receiver connected over loopback with one fresh key (`links`: how their hints travel). */
function connectedPair(links = memoryExchange()): Promise<[TcpTransport, TcpTransport]> {
  const key = newKey();
  const abort = new AbortController();
  return within(
    Promise.all([open('send', key, links.send, abort.signal), open('receive', key, links.receive, abort.signal)]),
    'the two ends',
  );
}

transportSuite('tcp', async () => closingPair(...(await connectedPair())));

/** Connects to a listener and reads what it sends, until it closes. */
function stranger(port: number, first: (socket: Socket, peerNonce: Promise<Buffer>) => void): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let gotNonce!: (b: Buffer) => void;
    const nonce = new Promise<Buffer>((r) => (gotNonce = r));
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      if (all.length >= TCP_NONCE_BYTES) gotNonce(all.subarray(0, TCP_NONCE_BYTES));
    });
    socket.on('connect', () => first(socket, nonce));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

describe('direct TCP binding handshake', () => {
  it('closes a connection without the session key, sends it nothing but a nonce and a MAC, and still connects the peers', async () => {
    const key = newKey();
    const links = memoryExchange();
    const abort = new AbortController();
    const receiving = open('receive', key, links.receive, abort.signal);
    const [hint] = await within(links.announced.receive, 'the receiver hints');
    // A stranger answers with a MAC under another key: the receiver must hang up after its own nonce and MAC.
    const seen = await within(
      stranger(hint!.port, (socket, nonce) => {
        socket.write(randomBytes(TCP_NONCE_BYTES));
        void nonce.then(() => socket.write(randomBytes(32)));
      }),
      'the stranger to be dropped',
    );
    expect(seen.length).toBe(TCP_NONCE_BYTES + 32); // no choice byte, no frame
    const sending = open('send', key, links.send, abort.signal);
    const [s, r] = await within(Promise.all([sending, receiving]), 'the real peers');
    await s.send(Uint8Array.of(1, 2, 3));
    expect(await take(r, 1)).toEqual([Uint8Array.of(1, 2, 3)]);
    await Promise.all([s.close(), r.close()]);
  });

  it('rejects a MAC reflected back to its author (the role is in the MAC)', async () => {
    const key = newKey();
    const links = memoryExchange();
    const abort = new AbortController();
    const receiving = open('receive', key, links.receive, abort.signal);
    receiving.catch(() => undefined);
    const [hint] = await within(links.announced.receive, 'the receiver hints');
    // Knowing the key is not even enough when the MAC claims the receiver's own role.
    const seen = await within(
      stranger(hint!.port, (socket, nonce) => {
        const ours = randomBytes(TCP_NONCE_BYTES);
        socket.write(ours);
        void nonce.then((theirs) => socket.write(tcpBindingMac(key, 'receive', ours, theirs)));
      }),
      'the reflector to be dropped',
    );
    expect(seen.length).toBe(TCP_NONCE_BYTES + 32);
    abort.abort(new Error('done'));
    await expect(receiving).rejects.toThrow('done');
  });

  it('accepts a hand-made handshake under the right key and role (so the two tests above can fail)', async () => {
    const key = newKey();
    const links = memoryExchange();
    const abort = new AbortController();
    const receiving = open('receive', key, links.receive, abort.signal);
    const [hint] = await within(links.announced.receive, 'the receiver hints');
    let socket!: Socket;
    const choice = new Promise<Buffer>((resolve) => {
      socket = connect({ host: '127.0.0.1', port: hint!.port });
      const ours = randomBytes(TCP_NONCE_BYTES);
      const chunks: Buffer[] = [];
      socket.on('connect', () => socket.write(ours));
      socket.on('data', (c: Buffer) => {
        const before = Buffer.concat(chunks).length;
        chunks.push(c);
        const all = Buffer.concat(chunks);
        if (before < TCP_NONCE_BYTES && all.length >= TCP_NONCE_BYTES)
          socket.write(tcpBindingMac(key, 'send', ours, all.subarray(0, TCP_NONCE_BYTES)));
        if (all.length >= TCP_NONCE_BYTES + 33) resolve(all.subarray(TCP_NONCE_BYTES + 32));
      });
    });
    expect((await within(choice, 'the choice byte'))[0]).toBe(1);
    const transport = await within(receiving, 'the receiver');
    socket.destroy();
    await transport.close();
  });

  it('never connects two sides with different keys', async () => {
    const links = memoryExchange();
    const abort = new AbortController();
    const both = Promise.allSettled([
      open('send', newKey(), links.send, abort.signal),
      open('receive', newKey(), links.receive, abort.signal),
    ]);
    await within(links.announced.send, 'hints');
    await within(links.announced.receive, 'hints');
    abort.abort(new Error('gave up'));
    const outcomes = await within(both, 'both to give up');
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });

  it('connects through the peer dialing back when its own hints are unreachable', async () => {
    // The receiver's announced port is one nobody listens on; the sender's hint still works, so the receiver dials it.
    const [s, r] = await connectedPair(
      memoryExchange((from, hints) => (from === 'receive' ? [{ host: '127.0.0.1', port: 1 }] : hints)),
    );
    await r.send(Uint8Array.of(9));
    expect(await take(s, 1)).toEqual([Uint8Array.of(9)]);
    await Promise.all([s.close(), r.close()]);
  });

  it('rejects a frame length above 1 MiB + 29', async () => {
    const [s, r] = await connectedPair();
    // Reach under the transport: write a bare length prefix that no honest peer would send.
    const socket = (s as unknown as { socket: Socket }).socket;
    socket.write(Buffer.from([0x00, 0x10, 0x00, 0x1e]));
    await expect(within(take(r, 1), 'the reader to fail')).rejects.toThrow(/oversized/);
    await Promise.all([s.close(), r.close()]);
  });
});

describe('direct TCP frame pool', () => {
  it('lends each data frame until the next is asked for, then reuses its memory; every frame arrives intact', async () => {
    const [a, b] = await connectedPair();
    try {
      const frames = Array.from({ length: 12 }, (_, i) => new Uint8Array(512 * 1024 + i).fill(i + 1));
      // Lockstep (each frame sent once the previous arrived), so the pool is not defeated by a full inbox.
      let arrived = () => {};
      const sending = (async () => {
        for (const f of frames) {
          const seen = new Promise<void>((resolve) => (arrived = resolve));
          await a.send(new Uint8Array(f));
          await seen;
        }
      })();
      const memories = new Set<ArrayBufferLike>();
      let got = 0;
      await within(
        (async () => {
          for await (const frame of b.frames()) {
            // While lent, the frame is exactly what was sent (nothing reused it under the consumer).
            expect(frame.length).toBe(frames[got]!.length);
            expect(frame.every((v) => v === got + 1)).toBe(true);
            memories.add(frame.buffer);
            arrived();
            if (++got === frames.length) return;
          }
        })(),
        'pooled frames',
      );
      await sending;
      // Fewer distinct buffers than frames: memory came back to the pool and was used again.
      expect(memories.size).toBeLessThanOrEqual(2);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('assembles 32 full-size frames sent at once in no more buffers than can be in use together', async () => {
    const [a, b] = await connectedPair();
    try {
      const size = 1024 * 1024;
      const count = 32;
      const sending = (async () => {
        for (let i = 0; i < count; i++) await a.send(new Uint8Array(size).fill(i + 1));
      })();
      const socket = (b as unknown as { socket: Socket }).socket;
      const paused = () => socket.isPaused();
      const memories = new Set<ArrayBufferLike>();
      let got = 0;
      await within(
        (async () => {
          for await (const frame of b.frames()) {
            expect(frame.every((v) => v === got + 1)).toBe(true);
            memories.add(frame.buffer);
            // A bursty consumer, as the receiver's file writes make it: after every 4 frames it stops until the inbox
            // is full and the socket paused, then takes the next 4 at once.
            if (++got === count) return;
            if (got % 4 === 0)
              while (!paused() && got < count - 4) await new Promise((resolve) => setImmediate(resolve));
          }
        })(),
        'the frames',
      );
      await sending;
      // In use at once: the inbox until it pauses the socket (the frame that passes INBOX_HIGH_BYTES, perhaps one more
      // from a read already made) and the frame lent; one more for a moment all of them were free with the pool full.
      // With too few spares kept, the buffers handed back while the inbox was low were dropped and new ones made
      // when it filled again (2 spares: 14 buffers here; 117–182 of the 1,024 frames of a GiB between processes).
      expect(memories.size).toBeLessThanOrEqual(Math.ceil(INBOX_HIGH_BYTES / size) + 4);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('local hints', () => {
  it('start with 127.0.0.1, are valid IPv4 literals with the port, at most MAX_TCP_HINTS, never repeated', () => {
    const hints = localHints(40123);
    expect(hints[0]).toEqual({ host: '127.0.0.1', port: 40123 });
    expect(hints.length).toBeLessThanOrEqual(MAX_TCP_HINTS);
    expect(hints.every((h) => isIpLiteral(h.host) && !h.host.includes(':') && h.port === 40123)).toBe(true);
    expect(new Set(hints.map((h) => h.host)).size).toBe(hints.length);
  });

  it('name only the bound address when listening on one (LAN --bind)', () => {
    expect(localHints(5, '192.0.2.7')).toEqual([{ host: '192.0.2.7', port: 5 }]);
    expect(localHints(5, '0.0.0.0')[0]).toEqual({ host: '127.0.0.1', port: 5 });
  });
});
