/**
 * Pings the relay and gives up on it once nothing came from it for a whole stall timeout: a relay (or a network
 * path) that stopped answering but keeps the socket open would otherwise hold every wait forever. Not while this
 * side paused reading (its own consumer is slow: the pongs wait unread behind the data).
 */
import type WebSocket from 'ws';
import { createError, type PortunusError } from '@portunus/protocol';

export class Keepalive {
  /** When something last arrived from the relay (performance.now). */
  private heardAt = performance.now();
  private readonly pinger: NodeJS.Timeout;

  /** Pings every quarter of `stallMs`; calls `onSilent` (RELAY_UNREACHABLE) once the relay was silent for `stallMs`. */
  constructor(ws: WebSocket, stallMs: number, onSilent: (error: PortunusError) => void) {
    ws.on('pong', () => this.heard());
    this.pinger = setInterval(() => {
      if (ws.isPaused) this.heard();
      if (performance.now() - this.heardAt >= stallMs) {
        return onSilent(
          createError('RELAY_UNREACHABLE', `the relay stopped answering (nothing from it for ${stallMs / 1000} s)`),
        );
      }
      ws.ping();
    }, stallMs / 4);
    this.pinger.unref();
  }

  /** Something (a message, a frame, a pong) arrived from the relay. */
  heard(): void {
    this.heardAt = performance.now();
  }

  stop(): void {
    clearInterval(this.pinger);
  }
}
