/**
 * The binding handshake that opens every direct TCP connection (PROTOCOL.md §6.3, "Binding handshake"), before any
 * frame:
 *
 *   each side → its nonce (16 random bytes)
 *   each side → mac_R = HMAC-SHA-256(binding, lv_cat("portunus/1 tcp binding", R, nonce_dialer, nonce_listener))
 *   receiver  → 0x01 on the ONE connection it keeps (the sender uses the connection that carries this byte)
 *
 * Each side checks the peer's MAC (role = the peer's) before it reads anything more. Someone without the session
 * key cannot produce a MAC, a MAC from another connection names another nonce, and a reflected MAC names the wrong
 * role. A connection that fails is closed alone: a stranger knocking on an announced port never ends the transfer.
 */
import type { Socket } from 'node:net';
import {
  checkTcpBindingMac,
  createError,
  TCP_NONCE_BYTES,
  tcpBindingMac,
  type Key,
  type RandomBytes,
  type Role,
} from '@portunus/protocol';
import { Wakeup } from '@portunus/client';

export const TCP_MAC_BYTES = 32;
/** The byte the receiver sends on the connection it chose. */
export const CHOSEN = 0x01;
/** A handshake not finished within this long is given up (a silent or slow stranger cannot hold a slot). */
export const HANDSHAKE_TIMEOUT_MS = 5_000;

export interface HandshakeOptions {
  key: Key<'binding'>;
  role: Role;
  /** Whether we opened this connection (dialer) or accepted it (listener). */
  dialed: boolean;
  random: RandomBytes;
}

/** Bytes from a socket, exactly as many as asked for; what is left over goes to the transport. */
class SocketReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private failure: Error | undefined;
  private readonly changes = new Wakeup();
  private readonly onData = (chunk: Buffer) => {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.changes.wake();
  };
  private readonly onEnd = () => this.stop(new Error('the connection closed during the handshake'));

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onEnd);
  }

  async read(n: number): Promise<Buffer> {
    while (this.buffered < n) {
      if (this.failure) throw this.failure;
      await this.changes.next();
    }
    const all = Buffer.concat(this.chunks);
    this.chunks.length = 0;
    if (all.length > n) this.chunks.push(all.subarray(n));
    this.buffered -= n;
    return all.subarray(0, n);
  }

  stop(error: Error): void {
    this.failure ??= error;
    this.changes.wake();
  }

  /** Stops listening (the socket is paused, nothing is lost) and returns the bytes read past the handshake. */
  detach(): Buffer {
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onEnd);
    return Buffer.concat(this.chunks);
  }
}

/**
 * Runs the handshake on `socket`; resolves with the bytes read past it once this connection is the chosen one.
 * Rejects (without ending the transfer) when the peer's MAC is wrong, the connection closes, or it takes too long;
 * the caller destroys the socket then. `chosen`, on the receiver only, decides whether to keep it.
 */
export async function tcpHandshake(socket: Socket, opts: HandshakeOptions, chosen: () => boolean): Promise<Buffer> {
  const reader = new SocketReader(socket);
  const timer = setTimeout(() => reader.stop(new Error('the handshake took too long')), HANDSHAKE_TIMEOUT_MS);
  try {
    const ours = opts.random(TCP_NONCE_BYTES);
    socket.write(ours);
    const theirs = await reader.read(TCP_NONCE_BYTES);
    const [dialer, listener] = opts.dialed ? [ours, theirs] : [theirs, ours];
    socket.write(tcpBindingMac(opts.key, opts.role, dialer, listener));
    const mac = await reader.read(TCP_MAC_BYTES);
    const peerRole: Role = opts.role === 'send' ? 'receive' : 'send';
    if (!checkTcpBindingMac(opts.key, peerRole, dialer, listener, mac)) {
      throw createError(
        'BINDING_MISMATCH',
        'a TCP connection that is not bound to this session (binding MAC mismatch)',
      );
    }
    if (opts.role === 'receive') {
      if (!chosen()) throw new Error('another connection was chosen');
      socket.write(Uint8Array.of(CHOSEN));
    } else {
      clearTimeout(timer); // the receiver may take its time to choose; losing connections are closed by the caller
      const flag = await reader.read(1);
      if (flag[0] !== CHOSEN) throw createError('PROTOCOL', 'an invalid choice byte on a direct TCP connection');
    }
    return reader.detach();
  } catch (err) {
    reader.detach();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
