/**
 * The direct data path: one reliable, ordered WebRTC data channel (werift) carrying exactly the sealed frames the
 * relay would carry, one frame per binary message. Text messages beside them carry the binding MAC (the first
 * message each way, binding.ts) and flow-control credits (channel-messages.ts). Nothing but a verified binding
 * MAC is accepted before the binding check passed, and nothing is sent but the MAC before it did.
 */
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import {
  bindingMac,
  checkBindingMac,
  createError,
  DIRECT_WINDOW_BYTES,
  encodeChannelMessage,
  MAX_FRAME_BYTES,
  parseChannelMessage,
  type Key,
  type PortunusError,
  type Role,
} from '../protocol.js';
import { settleWithin } from '../util/async-queue.js';
import type { Transport } from './transport.js';

/**
 * Plaintext bytes per frame on this path. werift reassembles each message from ~1 KiB SCTP chunks; measured on
 * loopback (100 MB, two processes), 256 KiB frames ran about twice as fast as 1 MiB frames and 1.3x as fast as 64 KiB.
 */
export const DIRECT_CHUNK_BYTES = 256 * 1024;
/** werift gets slower with more in flight (its flush loop wakes every waiter): at most this much is queued. */
export const HIGH_WATER_BYTES = 256 * 1024;
const LOW_WATER_BYTES = 128 * 1024;
/** A credit goes back after this many consumed bytes (≤ window − largest frame, so the two sides never both wait). */
const CREDIT_STEP_BYTES = 1024 * 1024;
/** A send that sees neither a drain nor a credit for this long finds the connection dead (as the relay's ping would). */
export const STALL_MS = 60_000;
const CLOSE_WAIT_MS = 2_000;

export interface Binding {
  key: Key<'binding'>;
  role: Role;
  /** SHA-256 of our DER certificate, and of the certificate the peer actually presented in DTLS. */
  localFingerprint: Uint8Array;
  remoteFingerprint: Uint8Array;
}

export class WebRtcTransport implements Transport {
  readonly kind = 'webrtc' as const;
  private readonly inbox: Uint8Array[] = [];
  private received = 0;
  private consumed = 0;
  private creditSent = 0;
  private sent = 0;
  private credit = 0;
  private bound = false;
  private binding: Binding | undefined;
  /** The peer's binding MAC when it came before we knew our certificates. */
  private earlyMac: Uint8Array | undefined;
  /** undefined while open, null after our own close(), else what ended the connection. */
  private ended: PortunusError | null | undefined;
  private closing: Promise<void> | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly unsubscribe: (() => void)[];

  /**
   * Takes over a data channel at once (before it opens), so no message of the peer can slip past: werift drops
   * messages that arrive while nobody listens.
   */
  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly dc: RTCDataChannel,
  ) {
    dc.bufferedAmountLowThreshold = LOW_WATER_BYTES;
    this.unsubscribe = [
      dc.onMessage.subscribe((data) => this.channelOnMessage(data)).unSubscribe,
      dc.bufferedAmountLow.subscribe(() => this.wake()).unSubscribe,
      dc.stateChanged.subscribe((state) => {
        if (state === 'closing' || state === 'closed') this.end(createError('INTERRUPTED', 'the direct connection was closed'));
        else this.wake();
      }).unSubscribe,
      pc.connectionStateChange.subscribe((state) => {
        if (state === 'failed' || state === 'closed') this.end(createError('INTERRUPTED', 'the direct connection was lost'));
      }).unSubscribe,
    ];
  }

  /** Resolves once the channel is open (DTLS is up, so its certificates are known). */
  async opened(): Promise<void> {
    while (this.dc.readyState !== 'open') {
      this.throwIfEnded();
      await this.nextEvent();
    }
  }

  /**
   * Sends our binding MAC, then resolves once the peer's MAC has been checked against the certificates of this very
   * DTLS connection. A wrong MAC ends the connection with BINDING_MISMATCH; `signal` aborting ends it too.
   */
  async bind(binding: Binding, signal: AbortSignal): Promise<void> {
    const onAbort = () => this.end(signal.reason as PortunusError);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal.aborted) throw signal.reason;
      this.binding = binding;
      const mac = bindingMac(binding.key, binding.role, binding.localFingerprint, binding.remoteFingerprint);
      this.sendText(encodeChannelMessage({ type: 'binding', mac }));
      if (this.earlyMac !== undefined) this.onBinding(this.earlyMac);
      while (!this.bound) {
        this.throwIfEnded();
        await this.nextEvent();
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async send(frame: Uint8Array): Promise<void> {
    if (!this.bound) throw createError('INTERNAL', 'send before the binding check');
    await this.until(() => this.sent + frame.length <= this.credit + DIRECT_WINDOW_BYTES);
    this.throwIfEnded();
    // werift's send() on a channel that is not open queues silently and never delivers: check first.
    if (this.dc.readyState !== 'open') throw this.end(createError('INTERRUPTED', 'the direct connection was closed'));
    this.dc.send(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
    this.sent += frame.length;
    await this.until(() => this.dc.bufferedAmount <= HIGH_WATER_BYTES);
  }

  async *frames(): AsyncIterable<Uint8Array> {
    for (;;) {
      const frame = this.inbox.shift();
      if (frame !== undefined) {
        this.consumed += frame.length;
        if (this.consumed - this.creditSent >= CREDIT_STEP_BYTES && this.ended === undefined) {
          this.creditSent = this.consumed;
          this.sendText(encodeChannelMessage({ type: 'credit', bytes: this.consumed }));
        }
        yield frame;
        continue;
      }
      if (this.ended === null) return;
      if (this.ended !== undefined) throw this.ended;
      await this.nextEvent();
    }
  }

  /** Closes the channel and the peer connection; bounded, idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ended ??= null;
      this.wake();
      for (const unsubscribe of this.unsubscribe) unsubscribe();
      // The peer learns of the close from the channel's SCTP stream reset; closing the peer connection before that
      // reset went out would leave it waiting for ICE consent to fail (tens of seconds). So let the channel reach
      // 'closed' first, bounded.
      const channelClosed = new Promise<void>((resolve) => {
        if (this.dc.readyState === 'closed') return resolve();
        const { unSubscribe } = this.dc.stateChanged.subscribe((state) => {
          if (state === 'closed') {
            unSubscribe();
            resolve();
          }
        });
      });
      try {
        this.dc.close();
      } catch {
        // Already closed or never opened: nothing to release.
      }
      await settleWithin(channelClosed, CLOSE_WAIT_MS);
      await closePeer(this.pc);
    })();
    return this.closing;
  }

  private channelOnMessage(data: string | Buffer): void {
    if (this.ended !== undefined) return;
    if (typeof data !== 'string') return this.onFrame(data);
    const msg = parseChannelMessage(data);
    if (msg === undefined) return void this.end(createError('PROTOCOL', 'the peer sent an invalid message on the direct connection'));
    if (msg.type === 'binding') return this.onBinding(msg.mac);
    if (!this.bound || msg.bytes < this.credit || msg.bytes > this.sent) {
      return void this.end(createError('PROTOCOL', 'the peer sent an invalid credit on the direct connection'));
    }
    this.credit = msg.bytes;
    this.wake();
  }

  private onBinding(mac: Uint8Array): void {
    if (this.binding === undefined && this.earlyMac === undefined) {
      this.earlyMac = mac;
      return;
    }
    const ok = this.binding !== undefined && !this.bound && this.checkMac(this.binding, mac);
    if (!ok) return void this.end(createError('BINDING_MISMATCH', 'the direct connection is not bound to this session (binding MAC mismatch)'));
    this.bound = true;
    this.earlyMac = undefined;
    this.wake();
  }

  private checkMac({ key, role, localFingerprint, remoteFingerprint }: Binding, mac: Uint8Array): boolean {
    const peerRole: Role = role === 'send' ? 'receive' : 'send';
    return checkBindingMac(key, peerRole, remoteFingerprint, localFingerprint, mac);
  }

  private onFrame(data: Buffer): void {
    if (!this.bound) return void this.end(createError('BINDING_MISMATCH', 'data on the direct connection before its binding MAC'));
    this.received += data.length;
    if (data.length > MAX_FRAME_BYTES || this.received > this.creditSent + DIRECT_WINDOW_BYTES) {
      return void this.end(createError('PROTOCOL', 'the peer ignored flow control on the direct connection'));
    }
    this.inbox.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
    this.wake();
  }

  private sendText(text: string): void {
    if (this.dc.readyState !== 'open') throw this.end(createError('INTERRUPTED', 'the direct connection was closed'));
    this.dc.send(text);
  }

  /** Ends the connection with `error` (the first cause wins) and returns it for throwing. */
  private end(error: PortunusError): PortunusError {
    if (this.ended === undefined) {
      this.ended = error;
      void this.close();
    }
    this.wake();
    return this.ended ?? error;
  }

  private throwIfEnded(): void {
    if (this.ended === null) throw createError('INTERRUPTED', 'the direct connection was closed');
    if (this.ended !== undefined) throw this.ended;
  }

  /** Waits until `ready()` holds; each wait is bounded by STALL_MS without progress. */
  private async until(ready: () => boolean): Promise<void> {
    for (;;) {
      this.throwIfEnded();
      if (ready()) return;
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), STALL_MS)));
      const outcome = await Promise.race([this.nextEvent(), stalled]);
      clearTimeout(timer);
      if (outcome === 'stalled') throw this.end(createError('INTERRUPTED', `no progress on the direct connection for ${STALL_MS / 1000} s`));
    }
  }

  private nextEvent(): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiter = () => {
        this.waiters.delete(waiter);
        resolve();
      };
      this.waiters.add(waiter);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Closes a peer connection, waiting for werift at most CLOSE_WAIT_MS (it may never answer on a dead path). */
export function closePeer(pc: RTCPeerConnection): Promise<void> {
  return settleWithin(pc.close(), CLOSE_WAIT_MS);
}
