/**
 * The direct data path over any WebRTC stack's data channel (PROTOCOL.md §6.4, "Binding" and "Data and flow control"):
 * exactly the sealed frames the relay would carry, one frame per binary message; text messages beside them carry
 * the binding MAC (the first message each way, binding.ts) and flow-control credits (channel-messages.ts). Nothing
 * but a verified binding MAC is accepted before the binding check passed, and nothing is sent but the MAC before
 * it did. The stack hides behind DirectChannel, a handful of members every data channel API has.
 */
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
} from '@portunus/protocol';
import type { Transport } from './transport.js';
import { Wakeup } from './wakeup.js';

export interface Binding {
  key: Key<'binding'>;
  role: Role;
  /** SHA-256 of our DER certificate, and of the certificate the peer actually presented in DTLS. */
  localFingerprint: Uint8Array;
  remoteFingerprint: Uint8Array;
}

/** One ordered, reliable data channel and the peer connection under it, as a WebRTC stack offers them. */
export interface DirectChannel {
  /** 'connecting' until the channel opens; 'closed' once the channel or the connection under it ended. */
  readyState(): 'connecting' | 'open' | 'closed';
  sendText(text: string): void;
  sendBinary(data: Uint8Array): void;
  /** Bytes queued in the stack, not yet handed to the network. */
  bufferedAmount(): number;
  /** Takes the one set of handlers; `onLow` fires when bufferedAmount falls to `lowWaterBytes` or below. */
  listen(handlers: ChannelHandlers, lowWaterBytes: number): void;
  /** Closes the channel, then the peer connection; bounded in time, idempotent, never rejects. */
  close(): Promise<void>;
}

export interface ChannelHandlers {
  onMessage(data: string | Uint8Array): void;
  onLow(): void;
  onOpen(): void;
  /** `lost`: the connection under the channel failed; `closed`: the channel was closed (by either side). */
  onEnd(how: 'closed' | 'lost'): void;
}

export interface ChannelTransportOptions {
  /** send() resolves once at most this much is queued in the stack. */
  highWaterBytes: number;
  /** The stack's low-water event fires at this level. */
  lowWaterBytes: number;
}

/** A credit goes back after this many consumed bytes (≤ window − largest frame, so the two sides never both wait). */
const CREDIT_STEP_BYTES = 1024 * 1024;

export class ChannelTransport implements Transport {
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
  private readonly changes = new Wakeup();

  /** Takes over the channel at once (before it opens), so no message of the peer can slip past. */
  constructor(
    private readonly channel: DirectChannel,
    private readonly opts: ChannelTransportOptions,
  ) {
    channel.listen(
      {
        onMessage: (data) => this.channelOnMessage(data),
        onLow: () => this.wake(),
        onOpen: () => this.wake(),
        onEnd: (how) =>
          this.end(
            createError(
              'INTERRUPTED',
              how === 'lost' ? 'the direct connection was lost' : 'the direct connection was closed',
            ),
          ),
      },
      opts.lowWaterBytes,
    );
  }

  /** Resolves once the channel is open (DTLS is up, so its certificates are known). */
  async opened(): Promise<void> {
    while (this.channel.readyState() !== 'open') {
      this.throwIfEnded();
      if (this.channel.readyState() === 'closed')
        throw this.end(createError('INTERRUPTED', 'the direct connection was closed'));
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
      // A MAC that came first is checked first: if it is wrong, that is the outcome, even if the peer has closed since.
      if (this.earlyMac !== undefined) this.onBinding(this.earlyMac);
      this.throwIfEnded();
      const mac = bindingMac(binding.key, binding.role, binding.localFingerprint, binding.remoteFingerprint);
      this.sendText(encodeChannelMessage({ type: 'binding', mac }));
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
    if (this.channel.readyState() !== 'open')
      throw this.end(createError('INTERRUPTED', 'the direct connection was closed'));
    this.channel.sendBinary(frame);
    this.sent += frame.length;
    await this.until(() => this.channel.bufferedAmount() <= this.opts.highWaterBytes);
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
      await this.channel.close();
    })();
    return this.closing;
  }

  private channelOnMessage(data: string | Uint8Array): void {
    if (this.ended !== undefined) return;
    if (typeof data !== 'string') return this.onFrame(data);
    const msg = parseChannelMessage(data);
    if (msg === undefined)
      return void this.end(createError('PROTOCOL', 'the peer sent an invalid message on the direct connection'));
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
    const ok = this.binding !== undefined && !this.bound && checkMac(this.binding, mac);
    if (!ok) {
      const mismatch = createError(
        'BINDING_MISMATCH',
        'the direct connection is not bound to this session (binding MAC mismatch)',
      );
      // The peer closing after its (wrong) MAC arrived must not hide the mismatch: that decides the transfer's fate.
      if (this.ended?.code === 'INTERRUPTED') this.ended = mismatch;
      return void this.end(mismatch);
    }
    this.bound = true;
    this.earlyMac = undefined;
    this.wake();
  }

  private onFrame(data: Uint8Array): void {
    if (!this.bound)
      return void this.end(createError('BINDING_MISMATCH', 'data on the direct connection before its binding MAC'));
    this.received += data.length;
    if (data.length > MAX_FRAME_BYTES || this.received > this.creditSent + DIRECT_WINDOW_BYTES) {
      return void this.end(createError('PROTOCOL', 'the peer ignored flow control on the direct connection'));
    }
    this.inbox.push(data);
    this.wake();
  }

  private sendText(text: string): void {
    if (this.channel.readyState() !== 'open')
      throw this.end(createError('INTERRUPTED', 'the direct connection was closed'));
    this.channel.sendText(text);
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

  /**
   * Waits until `ready()` holds or the connection ends. Not bounded here: a path that stops moving is found dead by
   * the data plane's stall rule (transfer/stall.ts), which closes it, and that ends this wait.
   */
  private async until(ready: () => boolean): Promise<void> {
    for (;;) {
      this.throwIfEnded();
      if (ready()) return;
      await this.nextEvent();
    }
  }

  private nextEvent(): Promise<void> {
    return this.changes.next();
  }

  private wake(): void {
    this.changes.wake();
  }
}

/** The peer's MAC names the certificate it presented first, then ours, under its own role. */
function checkMac({ key, role, localFingerprint, remoteFingerprint }: Binding, mac: Uint8Array): boolean {
  const peerRole: Role = role === 'send' ? 'receive' : 'send';
  return checkBindingMac(key, peerRole, remoteFingerprint, localFingerprint, mac);
}
