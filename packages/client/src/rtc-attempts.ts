/**
 * The WebRTC attempts of one transfer (PROTOCOL.md §6.4 "Attempts"): a path that ends mid-transfer is dialled again
 * with a fresh peer connection, and the signals of one attempt must never reach another's stack. Every `webrtc-v1`
 * body from the second attempt on carries its attempt's number; each side reads only the signals of its current
 * attempt and drops older ones unread. Only the sender starts an attempt, so both sides can never start one at
 * once: the receiver learns of a new attempt from its `offer`.
 */
import {
  ABILITY_WEBRTC,
  createError,
  MAX_WEBRTC_ATTEMPTS,
  parseSignal,
  signalAttempt,
  signalBody,
  type Role,
  type Signal,
} from '@portunus/protocol';
import type { PeerLink } from './session-hooks.js';

export class RtcAttempts {
  private current = 0;
  /** The receiver's read-ahead: the offer of `current`, read by the attempt it ended or by nextAttempt(). */
  private offer: unknown;

  constructor(
    private readonly link: PeerLink,
    private readonly role: Role,
    private readonly debug: (message: string) => void,
  ) {}

  /** The attempt this side is on (0 first). */
  get attempt(): number {
    return this.current;
  }

  /** Whether another attempt may still be made after the current one. */
  get left(): boolean {
    return this.current + 1 < MAX_WEBRTC_ATTEMPTS;
  }

  /** Sender: moves to the next attempt and returns its number (only while `left`). */
  begin(): number {
    if (this.role !== 'send' || !this.left) throw createError('INTERNAL', 'no WebRTC attempt left to begin');
    this.current += 1;
    return this.current;
  }

  /**
   * Receiver: resolves once the sender's offer of a newer attempt arrived (it is handed to that attempt's link
   * first), with that attempt's number; what belongs to the current attempt or an older one is dropped meanwhile.
   */
  async nextAttempt(abort: AbortSignal): Promise<number> {
    while (this.offer === undefined) await this.route(await this.link.next(ABILITY_WEBRTC, abort), this.current);
    return this.current;
  }

  /**
   * The peer link of attempt `n` (what its connector gets as `data.link`): the `webrtc-v1` signals it sends carry
   * `n`, and it reads only those of `n`. On the receiver, the offer of a newer attempt ends this one (DIRECT_FAILED);
   * nextAttempt() then hands it over. Other topics pass through.
   */
  linkFor(n: number): PeerLink {
    return {
      send: (topic, body) => this.link.send(topic, topic === ABILITY_WEBRTC ? signalBody(body as Signal, n) : body),
      next: async (topic, abort) => {
        if (topic !== ABILITY_WEBRTC) return this.link.next(topic, abort);
        for (;;) {
          if (this.current !== n) throw superseded(n);
          if (this.offer !== undefined) {
            const offer = this.offer;
            this.offer = undefined;
            return offer;
          }
          const body = await this.link.next(topic, abort);
          if (this.route(body, n)) return body;
        }
      },
    };
  }

  /** True when `body` is attempt `n`'s; drops an older one; takes a newer attempt's offer (receiver). */
  private route(body: unknown, n: number): boolean {
    const attempt = signalAttempt(body);
    if (attempt === undefined) throw createError('PROTOCOL', 'the peer sent a malformed WebRTC signal');
    if (attempt === n) return true;
    if (attempt < n) {
      this.debug(`dropped a signal of WebRTC attempt ${attempt + 1}, now on ${n + 1}`);
      return false;
    }
    if (this.role === 'send' || parseSignal(body)?.kind !== 'offer')
      throw createError('PROTOCOL', `the peer sent a signal of a WebRTC attempt not begun (${attempt + 1})`);
    this.current = attempt;
    this.offer = body;
    return false;
  }
}

function superseded(n: number) {
  return createError('DIRECT_FAILED', `WebRTC attempt ${n + 1} was given up: the peer started another`);
}
