/**
 * The WebRTC path of one transfer across its attempts (PROTOCOL.md §6.4 "Attempts"): a path that the data plane
 * loses while the data still moves is dialled again, with a fresh peer connection, at most MAX_WEBRTC_ATTEMPTS in
 * all. The sender closes the dead path and begins the next attempt (again after one that fails to come up, while
 * attempts are left); the receiver, once its path was up, answers the offer of every newer attempt, closing its
 * current path first. Each attempt's connector signals through that attempt's link only (rtc-attempts.ts).
 */
import { MAX_WEBRTC_ATTEMPTS, toPortunusError } from '@portunus/protocol';
import type { Link } from './link.js';
import type { DirectConnector } from './paths.js';
import { RtcAttempts } from './rtc-attempts.js';
import type { DataContext } from './session-hooks.js';

export interface RtcRedialOptions {
  data: DataContext;
  connect: DirectConnector;
  /** Runs one direct attempt with `connect` (bounded by --direct-timeout): the path once up, else undefined. */
  dial(connect: DirectConnector): Promise<Link | undefined>;
  debug(message: string): void;
  /** The receiver's wait for a newer attempt ended, or the sender ran out of attempts: fewer things are pending. */
  onSettled?(): void;
  /** Receiver: the sender began a new attempt (its offer came): it is alive. */
  onPeerAttempt?(): void;
}

export class RtcRedial {
  private readonly attempts: RtcAttempts;
  /** The current attempt's path once up. */
  private link: Link | undefined;
  /** Closes of dead paths and redial loops under way, and the receiver's wait for a newer offer. */
  private busy = 0;

  constructor(private readonly opts: RtcRedialOptions) {
    this.attempts = new RtcAttempts(opts.data.link, opts.data.role, opts.debug);
  }

  /** What may still bring a WebRTC path, besides an attempt running (which paths.ts counts itself). */
  get pending(): number {
    return this.busy;
  }

  /** Attempt 0; once it is up, the receiver answers every newer attempt the sender makes. */
  async first(): Promise<void> {
    const up = await this.dial(0);
    if (up !== undefined && this.opts.data.role === 'receive') void this.answer();
  }

  /** The current attempt's path came up (before the data plane reads a frame of it). */
  up(link: Link): void {
    this.link = link;
  }

  /** The data plane gave up on `link`: the sender dials again while attempts are left. */
  lost(link: Link): void {
    if (link !== this.link || this.opts.data.role !== 'send') return;
    this.link = undefined;
    if (!this.opts.data.signal.aborted && this.attempts.left) void this.redial(link);
  }

  private dial(n: number): Promise<Link | undefined> {
    return this.opts.dial((data, signal) => this.opts.connect({ ...data, link: this.attempts.linkFor(n) }, signal));
  }

  /** Sender: the dead path is closed first, then attempts follow until one is up or none is left. */
  private async redial(dead: Link): Promise<void> {
    const { data, debug } = this.opts;
    this.busy += 1;
    try {
      await dead.close();
      while (!data.signal.aborted && this.attempts.left) {
        const n = this.attempts.begin();
        debug(`the WebRTC path was lost: dialling again (attempt ${n + 1} of ${MAX_WEBRTC_ATTEMPTS})`);
        if ((await this.dial(n)) !== undefined) return;
      }
    } finally {
      this.busy -= 1;
      this.opts.onSettled?.();
    }
  }

  /** Receiver: each newer attempt's offer ends the current attempt (its path closed first) and is answered. */
  private async answer(): Promise<void> {
    const { data, debug } = this.opts;
    while (this.attempts.left && !data.signal.aborted) {
      this.busy += 1; // from here until the next attempt runs, so no moment shows nothing left to wait for
      let n: number;
      try {
        n = await this.attempts.nextAttempt(data.signal);
      } catch (err) {
        this.busy -= 1;
        if (!data.signal.aborted) debug(`no more WebRTC attempts: ${toPortunusError(err).message}`);
        this.opts.onSettled?.();
        return;
      }
      this.opts.onPeerAttempt?.();
      const old = this.link;
      this.link = undefined;
      debug(`the sender dials WebRTC again (attempt ${n + 1} of ${MAX_WEBRTC_ATTEMPTS}): answering`);
      await old?.close();
      const running = this.dial(n); // counted as pending by paths.ts from this call on
      this.busy -= 1;
      await running;
    }
  }
}
