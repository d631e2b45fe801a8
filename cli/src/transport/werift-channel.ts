/**
 * A werift data channel as a DirectChannel (channel-transport.ts). werift drops messages that arrive while nobody
 * listens, so the transport takes the channel over at once, before it opens; and its send() on a channel that is
 * not open queues silently and never delivers, which ChannelTransport's readyState check before every send covers.
 */
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { type ChannelHandlers, type DirectChannel, settleWithin } from '@portunus/client';

const CLOSE_WAIT_MS = 2_000;

export class WeriftChannel implements DirectChannel {
  private unsubscribe: (() => void)[] = [];
  private closing: Promise<void> | undefined;

  constructor(
    readonly pc: RTCPeerConnection,
    private readonly dc: RTCDataChannel,
  ) {}

  readyState(): 'connecting' | 'open' | 'closed' {
    const state = this.dc.readyState;
    return state === 'closing' ? 'closed' : state;
  }

  sendText(text: string): void {
    this.dc.send(text);
  }

  sendBinary(data: Uint8Array): void {
    this.dc.send(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  bufferedAmount(): number {
    return this.dc.bufferedAmount;
  }

  listen(handlers: ChannelHandlers, lowWaterBytes: number): void {
    const { dc, pc } = this;
    dc.bufferedAmountLowThreshold = lowWaterBytes;
    this.unsubscribe = [
      dc.onMessage.subscribe((data: string | Buffer) =>
        handlers.onMessage(typeof data === 'string' ? data : new Uint8Array(data.buffer, data.byteOffset, data.length)),
      ).unSubscribe,
      dc.bufferedAmountLow.subscribe(() => handlers.onLow()).unSubscribe,
      dc.stateChanged.subscribe((state) => {
        if (state === 'closing' || state === 'closed') handlers.onEnd('closed');
        else handlers.onOpen();
      }).unSubscribe,
      pc.connectionStateChange.subscribe((state) => {
        if (state === 'failed' || state === 'closed') handlers.onEnd('lost');
      }).unSubscribe,
    ];
  }

  /**
   * The peer learns of the close from the channel's SCTP stream reset; closing the peer connection before that
   * reset went out would leave it waiting for ICE consent to fail (tens of seconds). So the channel reaches
   * 'closed' first, bounded.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const unsubscribe of this.unsubscribe) unsubscribe();
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
}

/** Closes a peer connection, waiting for werift at most CLOSE_WAIT_MS (it may never answer on a dead path). */
export function closePeer(pc: RTCPeerConnection): Promise<void> {
  return settleWithin(pc.close(), CLOSE_WAIT_MS);
}
