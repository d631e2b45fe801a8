/**
 * A node-datachannel (libdatachannel) data channel as a DirectChannel. The binding takes one callback per event
 * (a second `onX(cb)` replaces the first), so this adapter registers each once and owns them; the library queues a
 * channel's messages until its message callback is set, so none is lost between creation and `listen`.
 */
import type { DataChannel, PeerConnection } from 'node-datachannel';
import { type ChannelHandlers, type DirectChannel, settleWithin } from '@portunus/client';

/** How long close() waits for the channel's stream reset to go out, then for the peer connection to shut down. */
const CLOSE_WAIT_MS = 2_000;

/**
 * One peer connection and its lease on the native runtime (NativeRuntime), with its state callback fanned out to
 * every listener (the negotiation's failure watch and the channel both need it).
 */
export class NdcPeer {
  private readonly listeners = new Set<(state: string) => void>();
  private readonly closed: Promise<void>;
  private closing: Promise<void> | undefined;

  constructor(
    readonly pc: PeerConnection,
    private readonly release: () => void,
  ) {
    this.closed = new Promise<void>((resolve) => {
      pc.onStateChange((state) => {
        if (state === 'closed') resolve();
        for (const listener of [...this.listeners]) listener(state);
      });
    });
  }

  /** Calls `listener` with every later state change; the returned function unsubscribes. */
  onState(listener: (state: string) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Closes the connection, waits (bounded) for it to be closed, then gives the lease back; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        this.pc.close();
      } catch {
        // Already closed.
      }
      await settleWithin(this.closed, CLOSE_WAIT_MS);
      this.release();
    })();
    return this.closing;
  }
}

export class NdcChannel implements DirectChannel {
  private state: 'connecting' | 'open' | 'closed';
  private handlers: ChannelHandlers | undefined;
  private closing: Promise<void> | undefined;
  private readonly channelClosed: Promise<void>;

  constructor(
    private readonly peer: NdcPeer,
    private readonly dc: DataChannel,
  ) {
    this.state = dc.isOpen() ? 'open' : 'connecting';
    this.channelClosed = new Promise<void>((resolve) => {
      dc.onOpen(() => {
        if (this.state === 'connecting') this.state = 'open';
        this.handlers?.onOpen();
      });
      dc.onClosed(() => {
        resolve();
        this.ended('closed');
      });
      dc.onError(() => this.ended('lost'));
    });
    peer.onState((state) => {
      if (state === 'failed' || state === 'closed' || state === 'disconnected') this.ended('lost');
    });
  }

  readyState(): 'connecting' | 'open' | 'closed' {
    return this.state;
  }

  sendText(text: string): void {
    this.dc.sendMessage(text);
  }

  sendBinary(data: Uint8Array): void {
    this.dc.sendMessageBinary(data);
  }

  bufferedAmount(): number {
    return this.dc.bufferedAmount();
  }

  listen(handlers: ChannelHandlers, lowWaterBytes: number): void {
    this.handlers = handlers;
    this.dc.setBufferedAmountLowThreshold(lowWaterBytes);
    this.dc.onBufferedAmountLow(() => handlers.onLow());
    this.dc.onMessage((msg) => {
      if (typeof msg === 'string') return handlers.onMessage(msg);
      handlers.onMessage(
        msg instanceof ArrayBuffer ? new Uint8Array(msg) : new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength),
      );
    });
    if (this.state === 'open') handlers.onOpen();
  }

  /**
   * The peer learns of the close from the channel's SCTP stream reset, so the channel is closed first and the
   * connection once that reset went out (bounded): closing the connection at once could leave the peer waiting
   * for ICE consent to fail.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closed';
      try {
        this.dc.close();
      } catch {
        // Already closed with its connection: nothing to release here.
      }
      await settleWithin(this.channelClosed, CLOSE_WAIT_MS);
      await this.peer.close();
    })();
    return this.closing;
  }

  private ended(how: 'closed' | 'lost'): void {
    if (this.state === 'closed' && this.closing !== undefined) return;
    this.state = 'closed';
    this.handlers?.onEnd(how);
  }
}
