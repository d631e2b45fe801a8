/**
 * Runs the sans-IO session machine against a real control channel: feeds it events (pairing, peer messages, the
 * user's decision, "all data sent") and performs the actions it returns. The data stream itself is handed to hooks,
 * which run beside the machine and report back through events; direct paths are set up through a PeerLink (sealed
 * signals per path, relayed by the machine, read by the path layer).
 *
 * Every wait ends (stall.ts): waiting for the other side is bounded by --timeout (again after a peer that left
 * before the key exchange completed), the handshake, the offer and the receipts by the stall timeout, the answer
 * by --timeout (a person is deciding); the data stream bounds its own waits.
 */
import {
  createError,
  type Decision,
  type Digest,
  explainEnd,
  initialState,
  type Offer,
  type PortunusError,
  type ResumeClaim,
  type Role,
  type SessionAction,
  type SessionConfig,
  type SessionEvent,
  type SessionKeys,
  type SessionState,
  type Side,
  step,
  toPortunusError,
} from '@portunus/protocol';
import type { Paired, PeerEvent } from './relay-client.js';
import { AsyncQueue } from './async-queue.js';
import { SignalInbox } from './signal-inbox.js';
import { RECEIPT_LINGER_MS } from './control-mux.js';

import type { ControlChannel, DataContext, DriveOptions, DriverHooks, PeerLink } from './session-hooks.js';

/** Events waiting for the machine; producers wait when it is full. */
const EVENT_QUEUE = 16;

export async function driveSession(channel: ControlChannel, opts: DriveOptions): Promise<Digest> {
  const events = new AsyncQueue<SessionEvent>(EVENT_QUEUE);
  const tasks = new AbortController();
  let state: SessionState = initialState(opts.config);
  let ctx: DataContext | undefined;
  const inbox = new SignalInbox(tasks.signal);
  const cleanups: (() => Promise<void>)[] = [];
  const deadline = new Deadline((error) => void events.push({ type: 'abort', error }).catch(() => undefined));

  const background = (work: () => Promise<SessionEvent>) => {
    work()
      .then(
        (ev) => events.push(ev),
        (err) =>
          events.push({
            type: 'abort',
            error: tasks.signal.aborted ? createError('CANCELLED', 'cancelled') : toPortunusError(err),
          }),
      )
      .catch(() => undefined);
  };
  const onCancel = () =>
    void events
      .push({ type: 'abort', error: createError('CANCELLED', 'cancelled on this side') })
      .catch(() => undefined);
  opts.signal?.addEventListener('abort', onCancel, { once: true });
  try {
    // Peer events feed the machine until the relay connection ends; its end error fails the queue after the
    // events already received, so a burn close never hides the confirm message that preceded it.
    void (async () => {
      for (;;) await events.push(toSessionEvent(await channel.nextEvent(), opts.relayName, opts.hooks));
    })().catch((err) => events.fail(toPortunusError(err)));
    deadline.arm(waitFor(state, opts));
    for (;;) {
      const event = await events
        .shift()
        .catch((err: unknown) => Promise.reject(explainEnd(state, toPortunusError(err))));
      const result = step(state, event);
      state = result.state;
      deadline.arm(waitFor(state, opts));
      for (const action of result.actions) {
        const outcome = perform(action);
        if (outcome === undefined) continue;
        const digest = outcome.done();
        // The receiver's `received` is the session's last message: the sender reads it, then closes the paths.
        if (opts.config.role === 'receive') await channel.linger?.(RECEIPT_LINGER_MS);
        return digest;
      }
    }
  } finally {
    deadline.arm(undefined);
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
      case 'unpaired':
        hooks.onUnpaired?.();
        return undefined;
      case 'confirmed':
        channel.confirmed?.(action.keys, action.side);
        ctx = {
          keys: action.keys,
          side: action.side,
          role: opts.config.role,
          abilities: action.abilities,
          signal: tasks.signal,
          link: peerLink(),
          defer: (cleanup) => void cleanups.push(cleanup),
        };
        hooks.onConfirmed?.({
          verifier: action.verifier,
          abilities: action.abilities,
          peerAbilities: action.peerAbilities,
        });
        return undefined;
      case 'signal':
        inbox.push(action.topic, action.body);
        return undefined;
      case 'offer':
        background(async () => {
          const decision = await required(hooks.onOffer, 'onOffer')(action.offer, tasks.signal);
          if (!decision.accept) return { type: 'decision', accept: false, reason: decision.reason };
          return decision.resume === undefined
            ? { type: 'decision', accept: true }
            : { type: 'decision', accept: true, resume: decision.resume };
        });
        return undefined;
      case 'checkResume':
        background(async () => ({
          type: 'resumeChecked',
          matches: hooks.checkResume === undefined ? false : await hooks.checkResume(action.claim),
        }));
        return undefined;
      case 'startSending':
        background(async () => ({
          type: 'dataSent',
          ...(await required(hooks.sendData, 'sendData')(ctx!, action.from)),
        }));
        return undefined;
      case 'startReceiving':
        background(async () => ({
          type: 'dataReceived',
          ...(await required(hooks.receiveData, 'receiveData')(ctx!, action.from)),
        }));
        return undefined;
      case 'peerSent':
        hooks.onPeerSent?.();
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
        return {
          done: () => {
            throw action.error;
          },
        };
    }
  }

  function peerLink(): PeerLink {
    return {
      send: (topic, body) => events.push({ type: 'signal', topic, body }),
      next: (topic, abort) => inbox.next(topic, abort),
    };
  }
}

function toSessionEvent(event: PeerEvent, relayName: string, hooks: DriverHooks): SessionEvent {
  switch (event.type) {
    case 'paired':
      hooks.onPaired?.(event.paired);
      return { type: 'paired', side: event.paired.side, sid: event.paired.sid, relayName };
    case 'message':
      return { type: 'message', body: event.body };
    case 'unpaired':
      return { type: 'unpaired' };
  }
}

interface Wait {
  /** Identifies the wait: the timer is re-armed only when this changes. */
  key: string;
  ms: number;
  error: () => PortunusError;
}

/** What the machine waits for in `state`, and for how long (the data stream bounds its own waits). */
function waitFor(state: SessionState, opts: DriveOptions): Wait | undefined {
  const peer = opts.config.role === 'send' ? 'receiver' : 'sender';
  const wait = (key: string, ms: number, code: 'TIMEOUT' | 'INTERRUPTED', what: string): Wait => ({
    key,
    ms,
    error: () => createError(code, `${what} within ${Math.round(ms / 100) / 10} s`),
  });
  switch (state.kind) {
    case 'idle':
      return wait('idle', opts.waitMs, 'TIMEOUT', `no ${peer} came`);
    case 'awaitingPake':
    case 'awaitingConfirm':
      return wait('handshake', opts.stallMs, 'TIMEOUT', `the ${peer} did not complete the handshake`);
    case 'awaitingOffer':
      return wait(state.kind, opts.stallMs, 'INTERRUPTED', 'the sender sent no offer');
    case 'awaitingAnswer':
      return wait(state.kind, opts.waitMs, 'TIMEOUT', 'the receiver did not answer');
    case 'awaitingResume':
      // The sender reads and hashes as much of its file as this side holds: a large prefix takes a while.
      return wait(state.kind, opts.waitMs, 'INTERRUPTED', 'the sender did not answer the resume request');
    case 'awaitingReceipt':
      return wait(state.kind, opts.stallMs, 'INTERRUPTED', 'the receiver confirmed nothing');
    case 'receiving':
      return state.got === undefined
        ? undefined
        : wait('receipt', opts.stallMs, 'INTERRUPTED', 'the sender confirmed nothing');
    default:
      return undefined;
  }
}

/** One timer for the machine's current wait. */
class Deadline {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private key: string | undefined;

  constructor(private readonly expire: (error: PortunusError) => void) {}

  arm(wait: Wait | undefined): void {
    if (wait?.key === this.key && wait !== undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.key = wait?.key;
    if (wait !== undefined) this.timer = setTimeout(() => this.expire(wait.error()), wait.ms);
  }
}

function required<T>(hook: T | undefined, name: string): T {
  if (hook === undefined) throw createError('INTERNAL', `session needs the ${name} hook`);
  return hook;
}
