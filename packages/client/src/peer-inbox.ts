/**
 * What the relay says about the peer, kept in the order it said it until the session reads it (PeerEvent), and
 * the pairing that order must follow: `paired` only while unpaired, `unpaired` only while paired. Bounded: a peer
 * flooding messages nobody reads is a protocol error, not a queue that grows.
 */
import { createError, fromBase64Url, type PortunusError, type RelayToClient } from '@portunus/protocol';
import type { PeerEvent } from './relay-client.js';

export type PeerNews = Extract<RelayToClient, { type: 'paired' | 'unpaired' | 'msg' }>;

export class PeerInbox {
  private readonly events: PeerEvent[] = [];
  private pairedNow = false;

  /** `onPairing` is told when the room is paired (true) and when it waits again after `unpaired` (false). */
  constructor(
    private readonly maxQueued: number,
    private readonly onPairing?: (paired: boolean) => void,
  ) {}

  /** Queues what `msg` says; returns the error when it breaks the order or the bound (nothing is queued then). */
  take(msg: PeerNews): PortunusError | undefined {
    switch (msg.type) {
      case 'paired':
        if (this.pairedNow) return createError('RELAY_PROTOCOL', 'paired twice');
        this.pairedNow = true;
        this.onPairing?.(true);
        return this.queue({
          type: 'paired',
          paired: { sid: msg.sid, side: msg.side, ...(msg.ice === undefined ? {} : { ice: msg.ice }) },
        });
      case 'unpaired':
        if (!this.pairedNow) return createError('RELAY_PROTOCOL', 'unpaired while not paired');
        this.pairedNow = false;
        this.onPairing?.(false);
        return this.queue({ type: 'unpaired' });
      case 'msg':
        // parseRelayMessage checked that the body is canonical base64url.
        return this.queue({ type: 'message', body: fromBase64Url(msg.body)! });
    }
  }

  shift(): PeerEvent | undefined {
    return this.events.shift();
  }

  private queue(event: PeerEvent): PortunusError | undefined {
    if (this.events.length >= this.maxQueued) return createError('PROTOCOL', 'the peer sent too many messages');
    this.events.push(event);
    return undefined;
  }
}
