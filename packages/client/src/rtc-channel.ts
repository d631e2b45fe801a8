/**
 * A W3C RTCDataChannel (the browser's own, or node-datachannel's polyfill) as a DirectChannel (channel-transport.ts).
 * ChannelTransport keeps the rules; what is W3C's here: binary messages must be asked for as ArrayBuffers (a browser
 * hands out Blobs by default, which cannot be read synchronously), the low-water mark is
 * `bufferedAmountLowThreshold` with its `bufferedamountlow` event, and send() throws on a channel that is not open
 * (ChannelTransport checks readyState before each send, so that throw means the channel closed under it).
 */
import { createError } from '@portunus/protocol';
import { settleWithin } from './async-queue.js';
import type { ChannelHandlers, DirectChannel } from './channel-transport.js';
import type { RtcDataChannel, RtcPeerConnection } from './rtc-api.js';

/** How long close() waits for the channel's stream reset to go out, as the CLI engines do (PROTOCOL.md §6.4). */
const CLOSE_WAIT_MS = 2_000;

/**
 * A peer connection with its one `onconnectionstatechange` property fanned out: the attempt's failure watch and the
 * channel both need it.
 */
export class RtcPeer {
  private readonly listeners = new Set<(state: string) => void>();

  constructor(readonly pc: RtcPeerConnection) {
    pc.onconnectionstatechange = () => {
      for (const listener of [...this.listeners]) listener(pc.connectionState);
    };
  }

  /** Calls `listener` with every later connection state; the returned function unsubscribes. */
  onState(listener: (state: string) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
}

export class RtcChannel implements DirectChannel {
  private closing: Promise<void> | undefined;
  private handlers: ChannelHandlers | undefined;
  private ended = false;
  private readonly closed: Promise<void>;

  /**
   * Takes the channel's handler properties at once; ChannelTransport calls listen() in the same task, so no event
   * (delivered in a later task) finds them without handlers.
   */
  constructor(
    private readonly peer: RtcPeer,
    private readonly dc: RtcDataChannel,
  ) {
    dc.binaryType = 'arraybuffer';
    this.closed = new Promise<void>((resolve) => {
      dc.onclose = () => {
        resolve();
        this.end('closed');
      };
    });
    dc.onerror = () => this.end('lost');
    dc.onopen = () => this.handlers?.onOpen();
    dc.onbufferedamountlow = () => this.handlers?.onLow();
    dc.onmessage = (event) => this.channelOnMessage(event.data);
    // 'disconnected' is not an end: a browser's ICE consent may recover from it, and a path that stays silent is
    // found dead by the data plane's stall rule. 'failed' and 'closed' are final.
    peer.onState((state) => {
      if (state === 'failed' || state === 'closed') this.end('lost');
    });
  }

  readyState(): 'connecting' | 'open' | 'closed' {
    if (this.ended) return 'closed';
    const state = this.dc.readyState;
    return state === 'connecting' || state === 'open' ? state : 'closed';
  }

  sendText(text: string): void {
    this.dc.send(text);
  }

  sendBinary(data: Uint8Array): void {
    // A browser throws a bare TypeError for a message over its limit (RTC_SEND_FRAME_BYTES): the sender chose a
    // frame size this path cannot carry, which is a bug to name, not a lost connection.
    const limit = this.peer.pc.sctp?.maxMessageSize;
    if (typeof limit === 'number' && limit > 0 && data.length > limit)
      throw createError(
        'INTERNAL',
        `a frame of ${data.length} bytes is over the WebRTC stack's limit (${limit} bytes)`,
      );
    // A view over a SharedArrayBuffer cannot be sent; frames never are one, but the type must say ArrayBuffer.
    this.dc.send(data as Uint8Array<ArrayBuffer>);
  }

  bufferedAmount(): number {
    return this.dc.bufferedAmount;
  }

  listen(handlers: ChannelHandlers, lowWaterBytes: number): void {
    this.handlers = handlers;
    this.dc.bufferedAmountLowThreshold = lowWaterBytes;
    if (this.dc.readyState === 'open') handlers.onOpen();
  }

  /**
   * The peer learns of the close from the channel's SCTP stream reset, so the channel is closed first and the peer
   * connection once that reset went out (bounded): closing the connection at once could leave the peer waiting for
   * ICE consent to fail.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ended = true;
      try {
        this.dc.close();
      } catch {
        // Already closed with its connection.
      }
      if (this.dc.readyState !== 'closed') await settleWithin(this.closed, CLOSE_WAIT_MS);
      this.peer.pc.close();
    })();
    return this.closing;
  }

  private channelOnMessage(data: unknown): void {
    if (typeof data === 'string') return this.handlers?.onMessage(data);
    // Anything but text or an ArrayBuffer (a Blob from a stack that ignored binaryType) is no message of ours: the
    // empty text stands for it, and ChannelTransport refuses that as PROTOCOL.
    this.handlers?.onMessage(data instanceof ArrayBuffer ? new Uint8Array(data) : '');
  }

  private end(how: 'closed' | 'lost'): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers?.onEnd(how);
  }
}
