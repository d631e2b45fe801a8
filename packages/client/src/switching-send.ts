/**
 * The sender's data stream over several paths (PROTOCOL.md §5.4). Each chunk is sealed once and kept, byte for byte,
 * in a bounded retransmit window until the receiver acknowledges it; the data goes on ONE path at a time, the one
 * the chooser picks by measured throughput. Whenever the data moves, the new path starts with every frame not yet
 * acknowledged: the receiver drops what it already has, so nothing is lost and nothing is written twice, and since
 * every path's frames are consecutive and start at or below what the receiver has, it never sees a gap. A probe of
 * a new path first lets the old one drain (every frame on it acknowledged, or DRAIN_MS passed), so the probe is
 * measured on new data and a slow new path is not handed a whole window to repeat.
 *
 * Liveness (stall.ts): the path carrying the data is dead once frames on it wait for an ack for half the stall
 * timeout; the data then fails over like after any other loss, well before the receiver gives up (after a whole
 * stall timeout without data). While the source produces nothing, an empty data frame goes out every quarter of
 * the stall timeout, so the receiver can tell a quiet source from a dead path.
 */
import {
  type AckOpener,
  choose,
  type ChooserConfig,
  type ChooserEvent,
  type ChooserState,
  createError,
  DEFAULT_CHOOSER,
  type Digest,
  frameOverhead,
  type FrameSealer,
  initialChooser,
  isPromise,
  type PathKind,
  type PortunusError,
  type Sha256Factory,
  RetransmitWindow,
  type SwitchReason,
  toPortunusError,
} from '@portunus/protocol';
import { Wakeup } from './wakeup.js';
import { Lookahead, type Chunk } from './lookahead.js';
import type { Link } from './link.js';
import { StallWatch } from './stall.js';
import { RELAY_WINDOW_BYTES, windowBytesOn } from './window-bytes.js';
import { FrameRecycling } from './frame-pool.js';

/** How long a voluntary switch waits for the old path's frames to be acknowledged before resending them. */
export const DRAIN_MS = 2_000;
/** The chooser hears the time at least this often, so a probe ends even while no ack arrives. */
const TICK_MS = 50;

export interface SwitchingSendOptions {
  chunks: AsyncIterable<Uint8Array>;
  sealer: FrameSealer;
  acks: AckOpener;
  /** SHA-256 of the data (the receiver compares its own). */
  sha256: Sha256Factory;
  now(): number;
  signal: AbortSignal;
  /** The transfer's stall timeout (stall.ts). */
  stallMs: number;
  onProgress(bytes: number): void;
  /** The data moved; `bytes` were sealed and sent by then. */
  onSwitch(from: PathKind | undefined, to: PathKind, reason: SwitchReason, bytes: number): void;
  /** Attempts still running (a sender with no live path waits for them). */
  pendingPaths(): number;
  /** What to report when every path is gone (the last attempt's error when none ever came up). */
  noPathError?(): PortunusError | undefined;
  debug?(message: string): void;
  /** A path died (it is never used again). */
  onLost?(link: Link): void;
  /** The window on every path (tests); default WINDOW_BYTES, RELAY_WINDOW_BYTES on the relay. */
  windowBytes?: number;
  chooser?: ChooserConfig;
}

interface Path {
  link: Link;
  /** The last frame handed to the link (its backpressure). */
  last: Promise<void>;
  dead: boolean;
}

export class SwitchingSender {
  private readonly paths = new Map<PathKind, Path>();
  private readonly window: RetransmitWindow;
  private chooser: ChooserState;
  /** The path carrying the data (a WebRTC path dialled again is another Path of the same kind). */
  private active: Path | undefined;
  private wanted: { path: PathKind; reason: SwitchReason } | undefined;
  private failure: PortunusError | undefined;
  private lastLoss: string | undefined;
  private readonly changes = new Wakeup();
  private bytesSent = 0;
  private everUp = false;
  /** Acks must advance within half the stall timeout while frames are in flight on the carrying path. */
  private readonly acking: StallWatch;
  /** When a frame was last sealed (empty keepalive frames go out while the source is quiet). */
  private lastSealAt: number;
  private readonly recycling = new FrameRecycling();

  constructor(private readonly opts: SwitchingSendOptions) {
    this.window = new RetransmitWindow(opts.windowBytes ?? RELAY_WINDOW_BYTES, opts.sealer.nextIndex);
    this.chooser = initialChooser(opts.chooser ?? DEFAULT_CHOOSER);
    this.acking = new StallWatch(opts.stallMs / 2, opts.now, () => 'no acknowledgement from the receiver');
    this.lastSealAt = opts.now();
  }

  /**
   * A path came up: take its acks, and offer it to the chooser. One of a kind already known (the relay, connected
   * again after its connection was lost) replaces it: the old one is lost first, so the data moves over with the
   * window resent, as after any loss.
   */
  addPath(link: Link): void {
    const old = this.paths.get(link.kind);
    if (old !== undefined) this.lose(old);
    const path: Path = { link, last: Promise.resolve(), dead: false };
    this.paths.set(link.kind, path);
    this.everUp = true;
    link.on('acks', (frame) => this.onAck(frame));
    link.onEnd((error) => {
      // A forged or malformed ack is an attack on the stream; a path ending is only a path ending.
      if (error?.code === 'CORRUPT' || error?.code === 'PROTOCOL') this.fail(error);
      else if (error !== undefined) this.opts.debug?.(`the ${link.kind} path ended: ${error.message}`);
      this.lose(path);
    });
    this.feed({ type: 'up', path: link.kind, at: this.opts.now() });
  }

  /** Fails the stream (a fatal path error such as a binding mismatch). */
  fail(error: PortunusError): void {
    this.failure ??= error;
    this.wake();
  }

  async run(): Promise<Digest> {
    const hash = this.opts.sha256();
    const ticker = setInterval(() => this.wake(), Math.min(TICK_MS, this.opts.stallMs / 4));
    const onAbort = () => this.fail(createError('CANCELLED', 'cancelled'));
    this.opts.signal.addEventListener('abort', onAbort, { once: true });
    const source = new Lookahead(this.opts.chunks, () => this.wake());
    try {
      while (!this.window.complete) {
        this.checkHealth();
        await this.applySwitch();
        const path = this.active;
        if (path === undefined || path.dead) {
          await this.changed();
          continue;
        }
        const next = source.peek();
        if (next instanceof Error) throw toPortunusError(next);
        const chunk = next ?? this.keepalive();
        const limit = this.opts.windowBytes ?? windowBytesOn(path.link.kind);
        if (chunk === undefined || !this.window.hasRoom(chunk.chunk.length + frameOverhead, limit)) {
          await this.changed();
          continue;
        }
        if (next !== undefined) source.take();
        const index = this.opts.sealer.nextIndex;
        // Hashed before sealing: sealOwned builds the frame in the chunk's own memory, over the plaintext. A
        // synchronous AEAD gives the frame itself (the await costs one microtask), WebCrypto a promise of it; one
        // seal at a time keeps the window and the path in index order whatever the AEAD.
        hash.update(chunk.chunk);
        this.sent(path, index, await this.opts.sealer.sealOwned(chunk.chunk, chunk.final), chunk);
        // Backpressure of the path, or anything that may change the plan (an ack, a path up or down).
        await Promise.race([path.last, this.changed()]);
      }
      return { bytes: this.bytesSent, sha256: hash.digestHex() };
    } finally {
      clearInterval(ticker);
      this.opts.signal.removeEventListener('abort', onAbort);
      source.stop();
    }
  }

  private sent(path: Path, index: number, frame: Uint8Array, { chunk, final }: Chunk): void {
    this.bytesSent += chunk.length;
    if (this.window.acked === this.window.next) this.acking.progress(); // the clock starts with the first frame in flight
    this.window.push(index, frame, final);
    this.lastSealAt = this.opts.now();
    if (final) this.feed({ type: 'last', at: this.opts.now() });
    this.send(path, frame);
    this.opts.onProgress(this.bytesSent);
  }

  /** An empty data frame while the source is quiet and nothing is in flight: it shows the receiver the path lives. */
  private keepalive(): Chunk | undefined {
    const idle = this.window.acked === this.window.next && this.opts.now() - this.lastSealAt >= this.opts.stallMs / 4;
    return idle ? { chunk: new Uint8Array(0), final: false } : undefined;
  }

  private checkHealth(): void {
    if (this.failure) throw this.failure;
    const path = this.active;
    if (path !== undefined && !path.dead && this.window.acked < this.window.next && this.acking.stalled) {
      this.opts.debug?.(`the ${path.link.kind} path: ${this.acking.describe()}`);
      this.lastLoss = `${this.acking.describe()} on the ${path.link.kind} path`;
      void path.link.close();
      this.lose(path);
    }
    this.feed({ type: 'progress', at: this.opts.now(), bytes: this.window.ackedBytes });
    const alive = [...this.paths.values()].some((p) => !p.dead);
    if (!alive && this.opts.pendingPaths() === 0) {
      const none = this.everUp ? undefined : this.opts.noPathError?.();
      throw (
        none ??
        createError(
          'INTERRUPTED',
          `every data path was lost before the receiver had all the data${this.lastLoss === undefined ? '' : ` (${this.lastLoss})`}`,
        )
      );
    }
  }

  /** Moves the data to the path the chooser asked for: after a drain when the old one still works. */
  private async applySwitch(): Promise<void> {
    const wanted = this.wanted;
    if (wanted === undefined) return;
    const old = this.active;
    const from = old?.link.kind;
    // Only a probe drains first: its target's speed is unknown, and resending the window on a slow path could cost
    // seconds. Going back to a path measured faster, or away from a dead one, resends at once.
    if (old !== undefined && !old.dead && wanted.reason === 'probe' && from !== wanted.path) {
      const deadline = this.opts.now() + DRAIN_MS;
      while (
        this.window.acked < this.window.next &&
        !old.dead &&
        this.opts.now() < deadline &&
        this.wanted === wanted
      ) {
        if (this.failure) throw this.failure;
        await this.changed();
      }
      if (this.wanted !== wanted) return; // the plan changed while draining: start over with the new one
    }
    this.wanted = undefined;
    const target = this.paths.get(wanted.path);
    if (target === undefined || target.dead) return;
    this.active = target;
    this.acking.progress(); // a new path gets its own stall timeout for the frames it resends
    for (const frame of this.window.unacked()) this.send(target, frame);
    this.feed({ type: 'started', at: this.opts.now(), bytes: this.window.ackedBytes });
    this.opts.debug?.(
      `data path ${from ?? 'none'} → ${wanted.path} (${wanted.reason}); resending ${this.window.unacked().length} frames`,
    );
    // A move to a new path of the same kind (WebRTC dialled again) is reported like any other.
    if (old !== target) this.opts.onSwitch(from, wanted.path, wanted.reason, this.bytesSent);
  }

  /**
   * Hands `frame` to `path`'s link. A frame queued there when the data moves elsewhere still goes out: the receiver
   * drops what it already has, and the link holds at most a few frames (the loop waits for each one's backpressure).
   */
  private send(path: Path, frame: Uint8Array): void {
    this.recycling.sent(frame);
    path.last = path.link.send(frame).catch((err: unknown) => {
      // Every frame queued on a path that ended fails alike: one line says it.
      if (!path.dead) this.opts.debug?.(`the ${path.link.kind} path failed: ${toPortunusError(err).message}`);
      this.lose(path);
    });
  }

  /**
   * An ack (throws CORRUPT or PROTOCOL for a forged or malformed one, which ends the link and fails the stream). On
   * an asynchronous AEAD the link waits for the returned promise, so the frame stays lent until it is opened.
   */
  private onAck(frame: Uint8Array): void | Promise<void> {
    const next = this.opts.acks.open(frame);
    if (isPromise(next)) return next.then((ready) => this.acked(ready));
    this.acked(next);
  }

  private acked(next: number | undefined): void {
    if (next !== undefined && next > this.window.acked) {
      this.window.ack(next, (frame) => this.recycling.released(frame));
      this.acking.progress();
    }
    this.wake();
  }

  private lose(path: Path): void {
    if (path.dead) return;
    path.dead = true;
    this.opts.onLost?.(path.link);
    // One that was replaced already is no news to the chooser (it would take the new one for dead).
    if (this.paths.get(path.link.kind) === path) this.feed({ type: 'lost', path: path.link.kind, at: this.opts.now() });
  }

  private feed(event: ChooserEvent): void {
    const result = choose(this.chooser, event);
    this.chooser = result.state;
    if (result.switchTo !== undefined) this.wanted = result.switchTo;
    this.wake();
  }

  private changed(): Promise<void> {
    return this.changes.next();
  }

  private wake(): void {
    this.changes.wake();
  }
}
