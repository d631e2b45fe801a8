/**
 * The sender's data stream over several paths (PROTOCOL.md §14). Each chunk is sealed once and kept, byte for byte,
 * in a bounded retransmit window until the receiver acknowledges it; the data goes on ONE path at a time, the one
 * the chooser picks by measured throughput. Whenever the data moves, the new path starts with every frame not yet
 * acknowledged: the receiver drops what it already has, so nothing is lost and nothing is written twice, and since
 * every path's frames are consecutive and start at or below what the receiver has, it never sees a gap. A probe of
 * a new path first lets the old one drain (every frame on it acknowledged, or DRAIN_MS passed), so the probe is
 * measured on new data and a slow new path is not handed a whole window to repeat.
 */
import { createHash } from 'node:crypto';
import {
  choose,
  createError,
  DEFAULT_CHOOSER,
  frameOverhead,
  initialChooser,
  RetransmitWindow,
  toPortunusError,
  type AckOpener,
  type ChooserConfig,
  type ChooserEvent,
  type ChooserState,
  type FrameSealer,
  type PathKind,
  type PortunusError,
  type SwitchReason,
} from '../protocol.js';
import type { Transport } from '../transport/transport.js';
import { isControlFrame } from './control-mux.js';
import type { Digest } from './session-driver.js';

/** Frame bytes sealed but not yet acknowledged: bounds memory, and must exceed a path's bandwidth-delay product. */
export const WINDOW_BYTES = 8 * 1024 * 1024;
/** How long a voluntary switch waits for the old path's frames to be acknowledged before resending them. */
export const DRAIN_MS = 2_000;
/** The chooser hears the time at least this often, so a probe ends even while no ack arrives. */
const TICK_MS = 50;

/** Test-only fault injection (PORTUNUS_TEST_* variables, see README "Testing"); absent in normal use. */
export interface SwitchTestHooks {
  /** Direct paths are offered to the chooser only once this many frame bytes were acknowledged. */
  directAfterBytes?: number;
  /** Kill this path once this many frame bytes were acknowledged (a direct path is closed; the relay pipe abandoned). */
  kill?: { path: PathKind; afterBytes: number };
  /**
   * Once this many bytes were sent, send no more while no direct path has come up and attempts are still running:
   * the relay then is still carrying when a slow-to-connect path (WebRTC) arrives, whatever the machine's speed.
   */
  waitDirectAtBytes?: number;
  /** The direct paths this side announces (PORTUNUS_TEST_DIRECT_PATHS): leaving one out keeps it from being tried. */
  directPaths?: ('tcp' | 'webrtc')[];
}

export interface SwitchingSendOptions {
  chunks: AsyncIterable<Uint8Array>;
  sealer: FrameSealer;
  acks: AckOpener;
  now(): number;
  signal: AbortSignal;
  onProgress(bytes: number): void;
  /** The data moved; `bytes` were sealed and sent by then. */
  onSwitch(from: PathKind | undefined, to: PathKind, reason: SwitchReason, bytes: number): void;
  /** Attempts still running (a sender with no live path waits for them). */
  pendingPaths(): number;
  debug?(message: string): void;
  /** A sealed control frame (stream 0) arrived on a direct path. */
  onControl?(frame: Uint8Array): void;
  /** A path died (it is never used again). */
  onLost?(transport: Transport): void;
  windowBytes?: number;
  chooser?: ChooserConfig;
  test?: SwitchTestHooks;
}

interface Path {
  transport: Transport;
  /** Sends on this path, one after another (a transport's send is not re-entrant). */
  tail: Promise<void>;
  dead: boolean;
}

export class SwitchingSender {
  private readonly paths = new Map<PathKind, Path>();
  private readonly held: Transport[] = [];
  private readonly window: RetransmitWindow;
  private chooser: ChooserState;
  private active: PathKind | undefined;
  private wanted: { path: PathKind; reason: SwitchReason } | undefined;
  private failure: PortunusError | undefined;
  private waiters: (() => void)[] = [];
  /** Counts moves of the data: frames queued in an earlier stint are not sent any more. */
  private stint = 0;
  private bytesSent = 0;

  constructor(private readonly opts: SwitchingSendOptions) {
    this.window = new RetransmitWindow(opts.windowBytes ?? WINDOW_BYTES, opts.sealer.nextIndex);
    this.chooser = initialChooser(opts.chooser ?? DEFAULT_CHOOSER);
  }

  /** A path came up: read its acks, and offer it to the chooser (unless a test hook holds it back). */
  addPath(transport: Transport): void {
    const path: Path = { transport, tail: Promise.resolve(), dead: false };
    this.paths.set(transport.kind, path);
    void this.readAcks(path);
    const hold = this.opts.test?.directAfterBytes;
    if (transport.kind !== 'relay' && hold !== undefined && this.window.ackedBytes < hold) this.held.push(transport);
    else this.feed({ type: 'up', path: transport.kind, at: this.opts.now() });
  }

  /** Fails the stream (a fatal path error such as a binding mismatch). */
  fail(error: PortunusError): void {
    this.failure ??= error;
    this.wake();
  }

  async run(): Promise<Digest> {
    const hash = createHash('sha256');
    const ticker = setInterval(() => this.wake(), TICK_MS);
    const onAbort = () => this.fail(createError('CANCELLED', 'cancelled'));
    this.opts.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const chunks = withFinal(this.opts.chunks);
      let next = await chunks.next();
      while (!this.window.complete) {
        this.checkHealth();
        await this.applySwitch();
        const path = this.active === undefined ? undefined : this.paths.get(this.active);
        if (path === undefined || path.dead) {
          await this.changed();
          continue;
        }
        if (this.waitingForDirect()) {
          await this.changed();
          continue;
        }
        if (next.done !== true && this.window.hasRoom(next.value.chunk.length + frameOverhead)) {
          const { chunk, final } = next.value;
          const index = this.opts.sealer.nextIndex;
          // Hashed before sealing: sealOwned builds the frame in the chunk's own memory, over the plaintext.
          hash.update(chunk);
          const frame = this.opts.sealer.sealOwned(chunk, final);
          this.bytesSent += chunk.length;
          this.window.push(index, frame, final);
          if (final) this.feed({ type: 'last', at: this.opts.now() });
          this.send(path, frame);
          this.opts.onProgress(this.bytesSent);
          // Backpressure of the path, or anything that may change the plan (an ack, a path up or down).
          await Promise.race([path.tail, this.changed()]);
          next = final ? { done: true, value: undefined } : await chunks.next();
          continue;
        }
        await this.changed();
      }
      return { bytes: this.bytesSent, sha256: hash.digest('hex') };
    } finally {
      clearInterval(ticker);
      this.opts.signal.removeEventListener('abort', onAbort);
    }
  }

  private checkHealth(): void {
    if (this.failure) throw this.failure;
    const kill = this.opts.test?.kill;
    if (kill !== undefined && this.window.ackedBytes >= kill.afterBytes) {
      const path = this.paths.get(kill.path);
      if (path !== undefined && !path.dead) {
        this.opts.debug?.(`test: killing the ${kill.path} path`);
        if (kill.path !== 'relay') void path.transport.close();
        this.lose(path);
      }
    }
    const hold = this.opts.test?.directAfterBytes;
    // A held path is let go early only when nothing else can carry: no other live path and no attempt left.
    const others = [...this.paths.values()].some((p) => !p.dead && !this.held.includes(p.transport));
    const stuck = !others && this.opts.pendingPaths() === 0;
    if (this.held.length > 0 && (stuck || hold === undefined || this.window.ackedBytes >= hold)) {
      for (const t of this.held.splice(0)) this.feed({ type: 'up', path: t.kind, at: this.opts.now() });
    }
    this.feed({ type: 'progress', at: this.opts.now(), bytes: this.window.ackedBytes });
    const alive = [...this.paths.values()].some((p) => !p.dead);
    if (!alive && this.held.length === 0 && this.opts.pendingPaths() === 0) {
      throw createError('INTERRUPTED', 'every data path was lost before the receiver had all the data');
    }
  }

  /** The waitDirectAtBytes test hook: past its mark with only the relay up and a direct attempt still running. */
  private waitingForDirect(): boolean {
    const mark = this.opts.test?.waitDirectAtBytes;
    if (mark === undefined || this.bytesSent < mark || this.opts.pendingPaths() === 0) return false;
    return ![...this.paths.keys()].some((kind) => kind !== 'relay');
  }

  /** Moves the data to the path the chooser asked for: after a drain when the old one still works. */
  private async applySwitch(): Promise<void> {
    const wanted = this.wanted;
    if (wanted === undefined) return;
    const from = this.active;
    const old = from === undefined ? undefined : this.paths.get(from);
    // Only a probe drains first: its target's speed is unknown, and resending the window on a slow path could cost
    // seconds. Going back to a path measured faster, or away from a dead one, resends at once.
    if (old !== undefined && !old.dead && wanted.reason === 'probe' && from !== wanted.path) {
      const deadline = this.opts.now() + DRAIN_MS;
      while (this.window.acked < this.window.next && !old.dead && this.opts.now() < deadline && this.wanted === wanted) {
        if (this.failure) throw this.failure;
        await this.changed();
      }
      if (this.wanted !== wanted) return; // the plan changed while draining: start over with the new one
    }
    this.wanted = undefined;
    const target = this.paths.get(wanted.path);
    if (target === undefined || target.dead) return;
    this.active = wanted.path;
    this.stint += 1;
    for (const frame of this.window.unacked()) this.send(target, frame);
    this.feed({ type: 'started', at: this.opts.now(), bytes: this.window.ackedBytes });
    this.opts.debug?.(`data path ${from ?? 'none'} → ${wanted.path} (${wanted.reason}); resending ${this.window.unacked().length} frames`);
    if (from !== wanted.path) this.opts.onSwitch(from, wanted.path, wanted.reason, this.bytesSent);
  }

  /**
   * Queues `frame` on `path`. Frames still queued when the data moves elsewhere are skipped: the new path resends
   * every unacknowledged frame anyway, and a path that gets the data again starts over from the last ack.
   */
  private send(path: Path, frame: Uint8Array): void {
    const stint = this.stint;
    path.tail = path.tail
      .then(() => (path.dead || stint !== this.stint ? undefined : path.transport.send(frame)))
      .catch((err: unknown) => {
        this.opts.debug?.(`the ${path.transport.kind} path failed: ${toPortunusError(err).message}`);
        this.lose(path);
      });
  }

  private async readAcks(path: Path): Promise<void> {
    try {
      for await (const frame of path.transport.frames()) {
        if (path.transport.kind !== 'relay' && isControlFrame(frame)) {
          this.opts.onControl?.(frame);
          continue;
        }
        const next = this.opts.acks.open(frame);
        if (next !== undefined) this.window.ack(next);
        this.wake();
      }
    } catch (err) {
      const error = toPortunusError(err);
      // A forged or malformed ack is an attack on the stream; a path ending is only a path ending.
      if (error.code === 'CORRUPT' || error.code === 'PROTOCOL') return this.fail(error);
      this.opts.debug?.(`the ${path.transport.kind} path ended: ${error.message}`);
    }
    this.lose(path);
  }

  private lose(path: Path): void {
    if (path.dead) return;
    path.dead = true;
    this.opts.onLost?.(path.transport);
    this.feed({ type: 'lost', path: path.transport.kind, at: this.opts.now() });
  }

  private feed(event: ChooserEvent): void {
    const result = choose(this.chooser, event);
    this.chooser = result.state;
    if (result.switchTo !== undefined) this.wanted = result.switchTo;
    this.wake();
  }

  private changed(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Chunks with the last one marked (one of lookahead), and one empty final chunk for empty data. */
async function* withFinal(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<{ chunk: Uint8Array; final: boolean }> {
  let pending: Uint8Array | undefined;
  for await (const chunk of chunks) {
    if (pending !== undefined) yield { chunk: pending, final: false };
    pending = chunk;
  }
  yield { chunk: pending ?? new Uint8Array(0), final: true };
}
