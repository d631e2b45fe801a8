/**
 * Runs the sans-IO session machine against a real control channel: feeds it events (peer messages, the user's
 * decision, "all data sent") and performs the actions it returns. The data stream itself is handed to hooks, which
 * run beside the machine and report back through events; they choose the data path through a PeerLink (sealed
 * WebRTC signals and the receiver's `path` choice, relayed by the machine).
 */
import {
  ABILITY_TCP,
  ABILITY_WEBRTC,
  createError,
  initialState,
  step,
  toPortunusError,
  type DataPath,
  type Offer,
  type Role,
  type SessionAction,
  type SessionConfig,
  type SessionEvent,
  type SessionKeys,
  type SessionState,
  type Side,
  type Signal,
  type TcpHint,
} from '../protocol.js';
import { AsyncQueue } from '../util/async-queue.js';

/** What the driver needs of the relay connection (the relay client provides it; tests may fake it). */
export interface ControlChannel {
  sendMessage(body: Uint8Array): void;
  nextMessage(): Promise<Uint8Array>;
  burn(): void;
}

export type Decision = { accept: true } | { accept: false; reason: 'REJECTED' | 'FILE_EXISTS' | 'DISK_FULL' };
export interface Digest {
  bytes: number;
  sha256: string;
}
export interface DataContext {
  keys: SessionKeys;
  side: Side;
  role: Role;
  abilities: string[];
  /** Aborted when the session ends, whichever way. */
  signal: AbortSignal;
  /** Signalling with the peer for the direct path (sealed, through the relay). */
  link: PeerLink;
  /** Runs `cleanup` when the session is over (after the receipts: a data path must outlive its last frame). */
  defer(cleanup: () => Promise<void>): void;
}

/** What transport selection may say to the peer and hear from it, always sealed and through the machine. */
export interface PeerLink {
  /** Both sides announced webrtc-v1, so signals and a `path` message may flow. */
  readonly webrtc: boolean;
  sendSignal(signal: Signal): Promise<void>;
  /** The peer's next signal; rejects when `abort` fires or the session ends. */
  nextSignal(abort?: AbortSignal): Promise<Signal>;
  /** Receiver: tell the sender which data path to use. */
  sendPath(transport: DataPath): Promise<void>;
  /** Sender: the receiver's choice (resolves once). */
  path(): Promise<DataPath>;
  /** Both sides announced tcp-v1, so one `hints` message each way may flow (and `path` may name "tcp"). */
  readonly tcp: boolean;
  sendHints(hints: TcpHint[]): Promise<void>;
  /** The peer's hints (resolves once); rejects when `abort` fires or the session ends. */
  peerHints(abort?: AbortSignal): Promise<TcpHint[]>;
}

export interface DriverHooks {
  onConfirmed?(info: { verifier: string; abilities: string[] }): void;
  /** Receiver: show the offer and decide. */
  onOffer?(offer: Offer, signal: AbortSignal): Promise<Decision>;
  /** Sender: stream everything; resolves with what was sent. */
  sendData?(ctx: DataContext): Promise<Digest>;
  /** Receiver: take the whole stream (verified frame by frame); resolves with what arrived. */
  receiveData?(ctx: DataContext): Promise<Digest>;
  /** Receiver: move the verified data into place. */
  commit?(): Promise<void>;
}

export interface DriveOptions {
  paired: { side: Side; sid: Uint8Array; relayName: string };
  config: SessionConfig;
  hooks: DriverHooks;
  /** Aborting it (Ctrl-C) cancels the session and tells the peer. */
  signal?: AbortSignal;
  /** Bound on the handshake: from pairing to key confirmation. */
  handshakeTimeoutMs?: number;
}

/** Events waiting for the machine; producers wait when it is full. */
const EVENT_QUEUE = 16;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 60_000;

export async function driveSession(channel: ControlChannel, opts: DriveOptions): Promise<Digest> {
  const events = new AsyncQueue<SessionEvent>(EVENT_QUEUE);
  const tasks = new AbortController();
  let state: SessionState = initialState(opts.config);
  let ctx: DataContext | undefined;
  const inbox = new SignalInbox(tasks.signal);
  const cleanups: (() => Promise<void>)[] = [];

  const background = (work: () => Promise<SessionEvent>) => {
    work().then(
      (ev) => events.push(ev),
      (err) => events.push({ type: 'abort', error: tasks.signal.aborted ? createError('CANCELLED', 'cancelled') : toPortunusError(err) }),
    ).catch(() => undefined);
  };
  const onCancel = () => void events.push({ type: 'abort', error: createError('CANCELLED', 'cancelled on this side') }).catch(() => undefined);
  opts.signal?.addEventListener('abort', onCancel, { once: true });
  const handshakeTimer = setTimeout(
    () => events.fail(createError('TIMEOUT', 'the other side did not complete the handshake in time')),
    opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
  );
  try {
    await events.push({ type: 'paired', ...opts.paired });
    // Peer messages feed the machine until the relay connection ends; its end error fails the queue after the
    // messages already received, so a burn close never hides the confirm message that preceded it.
    void (async () => {
      for (;;) await events.push({ type: 'message', body: await channel.nextMessage() });
    })().catch((err) => events.fail(toPortunusError(err)));
    for (;;) {
      const event = await events.shift();
      const result = step(state, event);
      state = result.state;
      for (const action of result.actions) {
        const outcome = perform(action);
        if (outcome) return outcome.done();
      }
    }
  } finally {
    clearTimeout(handshakeTimer);
    tasks.abort(createError('CANCELLED', 'session over'));
    events.fail(createError('CANCELLED', 'session over'));
    opts.signal?.removeEventListener('abort', onCancel);
    // Each cleanup bounds its own wait (a transport's close), so this cannot hang.
    await Promise.allSettled(cleanups.map((cleanup) => cleanup()));
  }

  function perform(action: SessionAction): { done: () => Digest } | undefined {
    const { hooks } = opts;
    switch (action.type) {
      case 'send':
        channel.sendMessage(action.body);
        return undefined;
      case 'burn':
        channel.burn();
        return undefined;
      case 'confirmed':
        clearTimeout(handshakeTimer);
        ctx = {
          keys: action.keys,
          side: action.side,
          role: opts.config.role,
          abilities: action.abilities,
          signal: tasks.signal,
          link: peerLink(action.abilities.includes(ABILITY_WEBRTC), action.abilities.includes(ABILITY_TCP)),
          defer: (cleanup) => void cleanups.push(cleanup),
        };
        hooks.onConfirmed?.({ verifier: action.verifier, abilities: action.abilities });
        return undefined;
      case 'signal':
        inbox.signal(action.signal);
        return undefined;
      case 'path':
        inbox.path(action.transport);
        return undefined;
      case 'hints':
        inbox.hints(action.hints);
        return undefined;
      case 'offer':
        background(async () => {
          const decision = await required(hooks.onOffer, 'onOffer')(action.offer, tasks.signal);
          return decision.accept ? { type: 'decision', accept: true } : { type: 'decision', accept: false, reason: decision.reason };
        });
        return undefined;
      case 'startSending':
        background(async () => ({ type: 'dataSent', ...(await required(hooks.sendData, 'sendData')(ctx!)) }));
        return undefined;
      case 'startReceiving':
        background(async () => ({ type: 'dataReceived', ...(await required(hooks.receiveData, 'receiveData')(ctx!)) }));
        return undefined;
      case 'commit':
        background(async () => {
          await required(hooks.commit, 'commit')();
          return { type: 'committed' };
        });
        return undefined;
      case 'done':
        return { done: () => ({ bytes: action.bytes, sha256: action.sha256 ?? '' }) };
      case 'fail':
        return { done: () => { throw action.error; } };
    }
  }

  function peerLink(webrtc: boolean, tcp: boolean): PeerLink {
    return {
      webrtc,
      tcp,
      sendHints: (hints) => events.push({ type: 'hints', hints }),
      peerHints: (abort) => inbox.peerHints(abort),
      sendSignal: (signal) => events.push({ type: 'signal', signal }),
      nextSignal: (abort) => inbox.nextSignal(abort),
      sendPath: (transport) => events.push({ type: 'path', transport }),
      path: () => inbox.chosenPath,
    };
  }
}

/**
 * Signals and the path choice from the peer, waiting for the transport selection. The machine admits at most
 * MAX_PEER_SIGNALS signals per session, which bounds this queue.
 */
class SignalInbox {
  private readonly signals: Signal[] = [];
  private readonly waiters = new Set<() => void>();
  private resolvePath!: (path: DataPath) => void;
  readonly chosenPath: Promise<DataPath>;
  private resolveHints!: (hints: TcpHint[]) => void;
  private readonly chosenHints: Promise<TcpHint[]>;

  constructor(private readonly session: AbortSignal) {
    this.chosenPath = new Promise<DataPath>((resolve, reject) => {
      this.resolvePath = resolve;
      session.addEventListener('abort', () => reject(session.reason), { once: true });
    });
    this.chosenPath.catch(() => undefined);
    this.chosenHints = new Promise<TcpHint[]>((resolve, reject) => {
      this.resolveHints = resolve;
      session.addEventListener('abort', () => reject(session.reason), { once: true });
    });
    this.chosenHints.catch(() => undefined);
    session.addEventListener('abort', () => this.wake(), { once: true });
  }

  signal(signal: Signal): void {
    this.signals.push(signal);
    this.wake();
  }

  path(path: DataPath): void {
    this.resolvePath(path);
  }

  hints(hints: TcpHint[]): void {
    this.resolveHints(hints);
  }

  peerHints(abort?: AbortSignal): Promise<TcpHint[]> {
    if (abort === undefined) return this.chosenHints;
    return new Promise<TcpHint[]>((resolve, reject) => {
      const onAbort = () => reject(abort.reason);
      if (abort.aborted) return onAbort();
      abort.addEventListener('abort', onAbort, { once: true });
      this.chosenHints.then(resolve, reject).finally(() => abort.removeEventListener('abort', onAbort));
    });
  }

  async nextSignal(abort?: AbortSignal): Promise<Signal> {
    for (;;) {
      const next = this.signals.shift();
      if (next !== undefined) return next;
      if (this.session.aborted) throw this.session.reason;
      if (abort?.aborted) throw abort.reason;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          abort?.removeEventListener('abort', done);
          resolve();
        };
        this.waiters.add(done);
        abort?.addEventListener('abort', done, { once: true });
      });
    }
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function required<T>(hook: T | undefined, name: string): T {
  if (hook === undefined) throw createError('INTERNAL', `session needs the ${name} hook`);
  return hook;
}

