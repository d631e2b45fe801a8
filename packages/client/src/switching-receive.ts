/**
 * The receiver's data stream over several paths (PROTOCOL.md §5.5): it reads every path that comes up, all the time,
 * and takes from any of them the frame it expects next; earlier ones (a new path starts by repeating what may have
 * been lost) are dropped unopened, a later one fails the stream. Written frames are acknowledged on the path that
 * brought them (at least every ACK_EVERY_BYTES and within ACK_DELAY_MS), so acks follow the data wherever the sender
 * moves it. Frames are handled one at a time and each path's reader waits for its frame to be handled, so nothing is
 * buffered beyond the transports' own bounded queues; the relay pipe is drained even after the end, so the control
 * messages behind it keep flowing.
 *
 * Liveness (stall.ts): the stream fails once no new data frame was written for a whole stall timeout (the sender
 * sends empty frames while its source is quiet), and at once when the sender reports the end of the data before
 * its FINAL frame arrived (it reports it only after FINAL was acknowledged, so the stream was cut short).
 */
import {
  type AckSealer,
  createError,
  type Digest,
  type PathKind,
  type PortunusError,
  type ResumingOpener,
  type Sha256,
  type Sha256Factory,
  toPortunusError,
} from '@portunus/protocol';
import type { Sink } from './sink.js';
import type { Link } from './link.js';
import { StallWatch } from './stall.js';
import { unref } from './unref.js';

export interface SwitchingReceiveOptions {
  opener: ResumingOpener;
  acks: AckSealer;
  sink: Pick<Sink, 'write'>;
  /** SHA-256 of the data (compared with the sender's claim). */
  sha256: Sha256Factory;
  /** The offered size, when known: bounds and checks the total. */
  expected: number | undefined;
  /** The transfer's stall timeout (stall.ts). */
  stallMs: number;
  now(): number;
  onProgress(bytes: number): void;
  /** The data now arrives on `to` (the first frame, or the first after the sender moved it); `bytes` written so far. */
  onPath(from: PathKind | undefined, to: PathKind, bytes: number): void;
  /** Attempts still running (with no live path left, the receiver waits for them before giving up). */
  pendingPaths(): number;
  debug?(message: string): void;
  /** A path ended (it is never used again). */
  onLost?(link: Link): void;
  /** Ack batching (tests use small values): default ACK_EVERY_BYTES and ACK_DELAY_MS. */
  ackEveryBytes?: number;
  ackDelayMs?: number;
}

/**
 * An ack goes out once this much data arrived on a path since its last one, or for the FINAL frame. An ack per
 * 1 MiB frame cost the sender ~0.2 CPU-s per GiB over TCP (a wakeup, a read and an AES-GCM open each); the
 * sender's window (8 MiB) is four times this, so it never waits on the batching.
 */
export const ACK_EVERY_BYTES = 2 * 1024 * 1024;
/** ...and at the latest this long after the first data it covers: slow paths, and a sender draining a path. */
export const ACK_DELAY_MS = 20;

interface Path {
  link: Link;
  dead: boolean;
  /** The ack last sent on this path, the one to send next, and whether a send is under way. */
  sentAck: number;
  wantAck: number;
  sending: boolean;
  /** Data written from this path since its last ack, and the timer that acks it at the latest. */
  unacked: number;
  ackTimer: ReturnType<typeof setTimeout> | undefined;
}

export class SwitchingReceiver {
  private readonly paths = new Set<Path>();
  private readonly hash: Sha256;
  private bytes = 0;
  /**
   * Index after the last frame whose write to the sink completed: what an ack may report. (The opener is already
   * past a frame that is still being written; acking that would tell the sender it can forget data not yet safe.)
   */
  private writtenNext = 0;
  /** The path the data arrived on last (a WebRTC path dialled again is another link of the same kind). */
  private last: Link | undefined;
  /** A duplicate was already answered with an ack since the last written frame. */
  private answeredDuplicate = false;
  /** Frames are handled one at a time, in arrival order across paths. */
  private turn: Promise<void> = Promise.resolve();
  private settle!: { resolve: (d: Digest) => void; reject: (e: PortunusError) => void };
  private finished = false;
  readonly result: Promise<Digest>;
  private readonly arriving: StallWatch;
  private readonly watchdog: ReturnType<typeof setTimeout>;

  constructor(private readonly opts: SwitchingReceiveOptions) {
    this.result = new Promise<Digest>((resolve, reject) => (this.settle = { resolve, reject }));
    this.result.catch(() => undefined);
    this.writtenNext = opts.opener.nextIndex;
    this.hash = opts.sha256();
    this.arriving = new StallWatch(opts.stallMs, opts.now, () => 'no data from the sender');
    this.watchdog = setInterval(() => {
      if (this.arriving.stalled) this.fail(createError('INTERRUPTED', this.arriving.describe()));
    }, opts.stallMs / 4);
    unref(this.watchdog);
    void this.result.then(this.stopWatchdog, this.stopWatchdog);
  }

  private readonly stopWatchdog = (): void => clearInterval(this.watchdog);

  /**
   * The sender showed it is alive without sending data: it dials a new path after the last one died (PROTOCOL.md
   * §6.4 "Attempts"). The stall clock starts again, so the new path has a whole stall timeout to bring data.
   */
  senderAlive(): void {
    this.arriving.progress();
  }

  /** The sender says every frame was acknowledged: true only if the FINAL frame is written here. */
  peerSent(): void {
    if (!this.finished)
      this.fail(createError('CORRUPT', 'the sender reported the end of the data before its final frame arrived'));
  }

  addPath(link: Link): void {
    const path: Path = { link, dead: false, sentAck: -1, wantAck: 0, sending: false, unacked: 0, ackTimer: undefined };
    this.paths.add(path);
    link.on('data', (frame) => this.onData(path, frame));
    link.onEnd((error) => {
      if (!this.finished && error !== undefined) this.opts.debug?.(`the ${link.kind} path ended: ${error.message}`);
      path.dead = true;
      clearTimeout(path.ackTimer);
      this.opts.onLost?.(link);
      this.checkAlive();
    });
  }

  fail(error: PortunusError): void {
    if (this.finished) return;
    this.finished = true;
    this.settle.reject(error);
  }

  /** Resolves with what arrived once the FINAL frame is written; rejects when the stream fails or every path is lost. */
  run(): Promise<Digest> {
    return this.result;
  }

  /** Re-checks, when an attempt settles, whether the stream still has a way to complete. */
  checkAlive(noPath?: PortunusError): void {
    if (this.finished) return;
    const alive = [...this.paths].some((p) => !p.dead);
    if (!alive && this.opts.pendingPaths() === 0) {
      const none = this.paths.size === 0 ? noPath : undefined;
      this.fail(none ?? createError('INTERRUPTED', 'every data path was lost before the final frame'));
    }
  }

  /** A data frame from `path` (the link waits for this before it reads the path's next frame). */
  private onData(path: Path, frame: Uint8Array): Promise<void> | undefined {
    // After the end (or a failure) late copies are only drained: the relay pipe must not back up.
    if (this.finished) return undefined;
    const handled = this.turn.then(() => this.handle(path, frame));
    this.turn = handled.catch(() => undefined);
    return handled;
  }

  private async handle(path: Path, frame: Uint8Array): Promise<void> {
    if (this.finished) return;
    try {
      // One frame at a time (the turn), so an asynchronous AEAD opens them in arrival order.
      const offered = await this.opts.opener.offer(frame);
      if (offered.kind === 'duplicate') {
        // A path that resends what we have may be waiting on an ack that died with the old path: answer once.
        if (!this.answeredDuplicate) {
          this.answeredDuplicate = true;
          this.ack(path, true);
        }
        return;
      }
      const { expected } = this.opts;
      this.bytes += offered.plaintext.length;
      if (expected !== undefined && this.bytes > expected) {
        throw createError('CORRUPT', `the sender sent more than the ${expected} bytes it offered`);
      }
      if (offered.final && expected !== undefined && this.bytes !== expected) {
        throw createError('CORRUPT', `the stream ended after ${this.bytes} of the ${expected} bytes offered`);
      }
      this.hash.update(offered.plaintext);
      const next = this.opts.opener.nextIndex;
      if (offered.plaintext.length > 0) await this.opts.sink.write(offered.plaintext);
      this.writtenNext = next;
      this.arriving.progress();
      this.answeredDuplicate = false;
      this.written(path, offered.plaintext.length, offered.final);
      if (this.last !== path.link) {
        this.opts.onPath(this.last?.kind, path.link.kind, this.bytes - offered.plaintext.length);
        this.last = path.link;
      }
      this.opts.onProgress(this.bytes);
      if (offered.final) {
        this.finished = true;
        this.settle.resolve({ bytes: this.bytes, sha256: this.hash.digestHex() });
      }
    } catch (err) {
      this.fail(toPortunusError(err));
    }
  }

  /** Acks what `path` brought: now for a full batch or the FINAL frame, else when the batch's timer fires. */
  private written(path: Path, bytes: number, final: boolean): void {
    path.unacked += bytes;
    if (final || path.unacked >= (this.opts.ackEveryBytes ?? ACK_EVERY_BYTES)) return this.ack(path, false);
    if (path.ackTimer === undefined) {
      path.ackTimer = setTimeout(() => this.ack(path, false), this.opts.ackDelayMs ?? ACK_DELAY_MS);
      unref(path.ackTimer);
    }
  }

  /** Sends the current ack on `path`, coalesced: at most one send under way per path, the newest value next. */
  private ack(path: Path, force: boolean): void {
    clearTimeout(path.ackTimer);
    path.ackTimer = undefined;
    path.unacked = 0;
    const next = this.writtenNext;
    if (next <= path.sentAck && !force) return;
    path.wantAck = next;
    if (force) path.sentAck = Math.min(path.sentAck, next - 1);
    if (path.sending || path.dead) return;
    path.sending = true;
    void (async () => {
      try {
        while (path.wantAck > path.sentAck && !path.dead) {
          // What is written now, not the value asked for when this path was slower: an ack sealed after another
          // path's must not say less than it (acks are numbered as sealed; the sender refuses one going backwards).
          const value = this.writtenNext;
          await path.link.send(await this.opts.acks.seal(value));
          path.sentAck = value;
        }
      } catch (err) {
        this.opts.debug?.(`acks on the ${path.link.kind} path failed: ${toPortunusError(err).message}`);
      } finally {
        path.sending = false;
      }
    })();
  }
}
