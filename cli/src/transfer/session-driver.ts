/**
 * Runs the sans-IO session machine against a real control channel: feeds it events (peer messages, the user's
 * decision, "all data sent") and performs the actions it returns. The data stream itself is handed to hooks, which
 * run beside the machine and report back through events.
 */
import {
  createError,
  initialState,

  step,
  toPortunusError,
  type Offer,
  type SessionAction,
  type SessionConfig,
  type SessionEvent,
  type SessionKeys,
  type SessionState,
  type Side,
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
  abilities: string[];
  signal: AbortSignal;
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
    tasks.abort();
    events.fail(createError('CANCELLED', 'session over'));
    opts.signal?.removeEventListener('abort', onCancel);
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
        ctx = { keys: action.keys, side: action.side, abilities: action.abilities, signal: tasks.signal };
        hooks.onConfirmed?.({ verifier: action.verifier, abilities: action.abilities });
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
}

function required<T>(hook: T | undefined, name: string): T {
  if (hook === undefined) throw createError('INTERNAL', `session needs the ${name} hook`);
  return hook;
}

