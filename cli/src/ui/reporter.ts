/**
 * Everything the CLI tells the user goes through a Reporter: human text on stderr (with a progress bar on a TTY),
 * NDJSON events for scripts (`--json`), or nothing but errors (`--quiet`). Names from the network are sanitized
 * before they reach any of these.
 */
import type { Writable } from 'node:stream';
import { PortunusError } from '@portunus/protocol/errors';
import type { PathKind } from '@portunus/protocol';
import { sanitizeForTerminal } from '../files/sanitize.js';
import { systemClock, type Clock } from './clock.js';
import { DataPhase } from './data-phase.js';
import { ProgressView } from './progress.js';
import { exitCodeOf, hintOf } from './error-guide.js';

/** What a drop adds to the `offer` and `done` events (`send --drop`, `receive D-…`). */
export interface DropFields {
  code?: string;
  expires?: number;
  downloads?: number;
  downloadsLeft?: number;
  /** The sender's link to the relay's page with the code (when the relay serves the page). */
  url?: string;
}

export type ReportEvent =
  /** `url`: the link to the page the relay serves, the code in its fragment (absent when it serves none). */
  /** `count`: send --count, the receivers this code serves (absent for one). */
  | { event: 'code'; code: string; nameplate: number; uri: string; url?: string; mode?: 'lan'; count?: number }
  /** send --count: the end, how many receivers completed and how many failed (each also has its own events). */
  | { event: 'served'; completed: number; failed: number }
  | { event: 'waiting'; nameplate: number }
  /** The peer left before the key exchange completed; this side waits for it (or another) to come back. */
  | { event: 'unpaired' }
  | { event: 'confirmed'; verifier: string }
  /**
   * The relay connection was lost after key confirmation and is being restored (PROTOCOL.md §2.13): one per attempt,
   * `reason` the error code of the loss (first attempt) or of the previous attempt's failure.
   */
  | { event: 'reconnecting'; attempt: number; reason: string }
  | { event: 'reconnected' }
  | {
      event: 'offer';
      kind: string;
      name?: string;
      /** A bundle's top-level entries (`portunus send a.txt photos/`). */
      entries?: { name: string; type: 'file' | 'folder' }[];
      size?: number;
      files?: number;
      fileBytes?: number;
      text?: string;
      /** Bytes an interrupted receive of this offer left here, which a resume reuses if the sender's data matches. */
      held?: number;
      /** A stored drop (`receive D-…`): when the relay deletes it (unix seconds), and downloads left after this one. */
      drop?: DropFields;
    }
  | { event: 'connected'; transport: PathKind }
  /**
   * The data moved to another path mid-transfer (--transport auto, PROTOCOL.md §5.6) after `bytes` (sent by the
   * sender, written by the receiver); `reason` only on the sender, which decides. `from` and `to` are the same kind
   * when a WebRTC path was dialled again after the last one was lost (§6.4 "Attempts").
   */
  | {
      event: 'transport';
      from: PathKind;
      to: PathKind;
      reason?: 'first' | 'probe' | 'slower' | 'failover';
      bytes: number;
    }
  | { event: 'progress'; bytes: number; total?: number }
  /**
   * A resumed transfer (PROTOCOL.md §4.12): the first `bytes` of the data (a file, or a folder's tar) were already
   * at the receiver and are not sent again; `progress` and `done` count them in.
   */
  | { event: 'resume'; bytes: number; total?: number }
  /** The receive was interrupted: its hidden partial (`path`, `bytes` of it counted) is kept to be resumed. */
  | { event: 'kept'; path: string; bytes: number }
  /** The receiver's partial copy was discarded (`reason`) and the transfer starts from zero. */
  | { event: 'discarded'; path: string; bytes: number; reason: 'mismatch' | 'changed' | 'no-resume' }
  /** `seconds` from pairing to the end; `dataSeconds` and `bytesPerSecond` the data phase only (none for text). */
  | {
      event: 'done';
      bytes: number;
      /** Of `bytes`, those already at the receiver before this run (a resume): not sent again. */
      reused?: number;
      sha256?: string;
      transport?: PathKind;
      seconds: number;
      dataSeconds?: number;
      bytesPerSecond?: number;
      path?: string;
      text?: string;
      /** Folders and bundles: each file's SHA-256, by its name in the offer (`photos/a.jpg`). */
      files?: readonly { name: string; bytes: number; sha256: string }[];
      /** Receiver of a bundle: where each top-level entry landed (another name under --rename). */
      entries?: readonly { name: string; path: string }[];
      /** A stored drop: its code (sender), expiry (unix seconds), downloads asked for (sender) or left (receiver). */
      drop?: DropFields;
    }
  /** A stale temporary of an earlier receive into the same folder, removed (files/stale-temps.ts). */
  | { event: 'swept'; path: string; kind: 'file' | 'folder'; bytes?: number; pid: number; expired?: boolean }
  | { event: 'warning'; message: string }
  | { event: 'error'; error: string; message: string; hint: string; exit: number };

export interface ReporterOptions {
  mode: 'human' | 'json' | 'quiet';
  /** Where JSON events go: stdout normally, stderr when received data goes to stdout. */
  jsonStream: Writable;
  stderr: Writable & { isTTY?: boolean; columns?: number };
  verbose: boolean;
  color: boolean;
  /** The system's clock unless a test drives one. */
  clock?: Clock;
  /**
   * send --count: the receiver (1…N) this reporter speaks for. Its events carry `receiver`, its lines start with
   * "Receiver N:", and a person sees no progress bar (one line per receiver, not N bars).
   */
  receiver?: number;
}

/** Progress events are throttled to at most 4 a second (the last one always goes out). */
const PROGRESS_INTERVAL_MS = 250;

export class Reporter {
  readonly mode: ReporterOptions['mode'];
  private readonly opts: ReporterOptions;
  readonly clock: Clock;
  private lastProgress = -Infinity;
  private progress: ProgressView | undefined;
  private phase: DataPhase | undefined;

  constructor(opts: ReporterOptions) {
    this.opts = opts;
    this.mode = opts.mode;
    this.clock = opts.clock ?? systemClock;
  }

  /** A person is watching: human output on a terminal (not --json, --quiet, a log or a pipe). */
  get interactive(): boolean {
    return this.mode === 'human' && this.opts.stderr.isTTY === true;
  }

  /** The same output, for one receiver of a send --count (its own data phase and progress). */
  forReceiver(receiver: number): Reporter {
    return new Reporter({ ...this.opts, clock: this.clock, receiver });
  }

  /** Structured event (JSON mode only). */
  event(ev: ReportEvent): void {
    if (this.mode !== 'json') return;
    const { receiver } = this.opts;
    this.opts.jsonStream.write(JSON.stringify(receiver === undefined ? ev : { ...ev, receiver }) + '\n');
  }

  /** A line for people (human mode only); any network-derived text in it must already be sanitized. */
  say(line: string): void {
    if (this.mode !== 'human') return;
    this.progress?.clear();
    this.opts.stderr.write(this.label + line + '\n');
  }

  /** "Receiver N: " before each line of a send --count's receiver; nothing otherwise. */
  private get label(): string {
    return this.opts.receiver === undefined ? '' : `Receiver ${this.opts.receiver}: `;
  }

  bold(text: string): string {
    return this.opts.color ? `\x1b[1m${text}\x1b[22m` : text;
  }

  warn(message: string): void {
    this.event({ event: 'warning', message });
    if (this.mode === 'human') this.say(`Warning: ${message}`);
  }

  debug(message: string): void {
    if (this.opts.verbose && this.mode !== 'json') this.opts.stderr.write(`[debug] ${message}\n`);
  }

  /** The data phase begins (the first data path is up). */
  startProgress(total: number | undefined, label: string): void {
    this.lastProgress = -Infinity;
    this.phase = new DataPhase(this.clock.now());
    if (this.mode === 'human' && this.opts.receiver === undefined)
      this.progress = new ProgressView(this.opts.stderr, total, label, this.phase, this.clock);
  }

  /** Renames the progress line (the path carrying the data changed). */
  relabelProgress(label: string): void {
    this.progress?.relabel(label);
  }

  updateProgress(bytes: number, total: number | undefined, force = false): void {
    this.phase?.update(bytes);
    const t = this.clock.now();
    if (!force && t - this.lastProgress < PROGRESS_INTERVAL_MS) return;
    this.lastProgress = t;
    this.event({ event: 'progress', bytes, ...(total === undefined ? {} : { total }) });
    this.progress?.update();
  }

  /** The data phase is over (all bytes sent or received, or the transfer stopped). */
  stopProgress(): void {
    this.phase?.end(this.clock.now());
    this.progress?.stop();
    this.progress = undefined;
  }

  /** How long the data phase took (so far); undefined when there was none (a text message). */
  dataSeconds(): number | undefined {
    return this.phase?.seconds(this.clock.now());
  }

  /** Reports a failure: one line of message and one of hint (stack only with --verbose); `exit` if not the error's own. */
  error(err: PortunusError, exit: number = exitCodeOf(err)): void {
    this.stopProgress();
    const message = sanitizeForTerminal(err.message);
    const hint = sanitizeForTerminal(hintOf(err));
    this.event({ event: 'error', error: err.code, message, hint, exit });
    if (this.mode === 'json') return;
    this.opts.stderr.write(`portunus: ${this.label}${message}\n  hint: ${hint}\n`);
    if (this.opts.verbose) {
      const cause = err.cause instanceof Error ? err.cause : err;
      this.opts.stderr.write(`${cause.stack ?? String(cause)}\n`);
    }
  }
}

export function isPortunusError(err: unknown): err is PortunusError {
  return err instanceof PortunusError;
}
