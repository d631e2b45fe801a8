/**
 * The peer session as a sans-IO state machine: `step(state, event) → { state, actions }` (values in
 * session-types.ts, the key exchange in handshake.ts).
 *
 * It covers everything said between the peers on the control channel — CPace, key confirmation, the offer, the
 * answer and the end-of-transfer receipts — and nothing else: no sockets, no files, no clocks, no paths. A driver
 * feeds it events (relay messages, user decisions, "all data sent") and performs the actions it returns (send a
 * body, burn the nameplate, start the data stream, commit the file, finish). Data frames never pass through here.
 *
 *   sender: offer ──► receiver: answer ──► data (§5) ──► sender: sent {sha256} ──► receiver: received {sha256}
 *
 * A receiver that holds the start of the data (a file, or a folder's or bundle's tar) from an interrupted transfer says so in its answer; the sender checks
 * the claim against its own data and answers `resume` with where the data starts (§4.12).
 *
 * What paths need to come up (WebRTC descriptions and candidates, TCP hints) passes through as sealed `signal`
 * messages whose topic is an ability both sides announced: the machine bounds and routes them, the path layer
 * reads them.
 */
import { createError, PortunusError, type ErrorCode } from './errors.js';
import { openStreamFrame, sealFrame } from './frame.js';
import { failed, onConfirm, onPake, onPaired } from './handshake.js';
import { offerHasData, type Offer } from './offer.js';
import { encodeSealed, MAX_PEER_SIGNALS, parseSealed, type SealedMessage } from './peer-messages.js';
import type {
  Channel,
  Digest,
  Refusal,
  SessionAction,
  SessionConfig,
  SessionEvent,
  SessionState,
  StepResult,
} from './session-types.js';
import { CONTROL_STREAM } from './streams.js';

export type * from './session-types.js';

export function initialState(config: SessionConfig): SessionState {
  if (config.role === 'send' && config.offer === undefined) throw createError('INTERNAL', 'a sender needs an offer');
  return { kind: 'idle', config };
}

export function step(state: SessionState, event: SessionEvent): StepResult {
  if (state.kind === 'done' || state.kind === 'failed') return { state, actions: [] };
  try {
    if (event.type === 'abort') return abort(state, event.error);
    if (event.type === 'unpaired') return onUnpaired(state);
    return dispatch(state, event);
  } catch (err) {
    return failed(err instanceof PortunusError ? err : createError('INTERNAL', String(err), { cause: err }));
  }
}

/**
 * What the end of the control channel means in `state`. Side b confirms first (§3.5), so a b whose code was wrong
 * never sees a's confirmation: a burns the nameplate instead, and the relay's NAMEPLATE_BURNED is b's only news of
 * the failed confirmation.
 */
export function explainEnd(state: SessionState, error: PortunusError): PortunusError {
  if (state.kind === 'awaitingConfirm' && state.side === 'b' && error.code === 'NAMEPLATE_BURNED') {
    return createError('WRONG_CODE', 'key confirmation failed: the two sides used different codes');
  }
  return error;
}

type Live = Exclude<SessionState, { kind: 'done' | 'failed' }>;
type OpenState = Extract<SessionState, { channel: Channel }>;

/**
 * The relay sends `unpaired` only while the key exchange is incomplete; side a's confirmation (sent only after b's
 * checked out) may still have been in flight, so a sender waiting for the answer starts over too. Starting over is
 * safe: whoever left either learnt nothing about the code, or proved it knew the code. Once the receiver is asked
 * or data flows, the peer is simply gone.
 */
function onUnpaired(state: Live): StepResult {
  switch (state.kind) {
    case 'idle':
    case 'awaitingPake':
    case 'awaitingConfirm':
    case 'awaitingAnswer':
      return { state: { kind: 'idle', config: state.config }, actions: [{ type: 'unpaired' }] };
    default:
      return failed(createError('PEER_GONE', 'the other side disconnected'));
  }
}

function dispatch(state: Live, event: SessionEvent): StepResult {
  switch (state.kind) {
    case 'idle':
      return event.type === 'paired' ? onPaired(state.config, event) : unexpected(event);
    case 'awaitingPake':
      return event.type === 'message' ? onPake(state, event.body) : unexpected(event);
    case 'awaitingConfirm': {
      if (event.type !== 'message') return unexpected(event);
      const opened = onConfirm(state, event.body);
      if ('state' in opened) return opened;
      return afterConfirm(state.config, opened.channel, opened.actions);
    }
    default:
      return event.type === 'message' ? onMessage(state, event.body) : onLocal(state, event);
  }
}

/** The channel is open: the sender offers at once, the receiver waits for the offer. */
function afterConfirm(config: SessionConfig, channel: Channel, actions: SessionAction[]): StepResult {
  if (config.role === 'receive') return { state: { kind: 'awaitingOffer', config, channel }, actions };
  const [sent, send] = seal(channel, { type: 'offer', offer: config.offer! });
  return { state: { kind: 'awaitingAnswer', config, channel: sent }, actions: [...actions, send] };
}

function onMessage(state: OpenState, body: Uint8Array): StepResult {
  const { channel } = state;
  const opened = openStreamFrame(channel.open, CONTROL_STREAM, channel.openIndex, body);
  const next = { ...state, channel: { ...channel, openIndex: channel.openIndex + 1 } };
  const msg = parseSealed(opened.plaintext);
  if (msg instanceof PortunusError) return abort(next, msg);
  return onSealed(next, msg);
}

function onSealed(state: OpenState, msg: SealedMessage): StepResult {
  const { config, channel } = state;
  if (msg.type === 'error') return failed(peerError(msg.code, msg.message));
  if (msg.type === 'signal') return onPeerSignal(state, msg.topic, msg.body);
  switch (state.kind) {
    case 'awaitingOffer':
      if (msg.type !== 'offer') break;
      return {
        state: { kind: 'deciding', config, channel, offer: msg.offer },
        actions: [{ type: 'offer', offer: msg.offer }],
      };
    case 'awaitingAnswer':
      if (msg.type !== 'answer') break;
      if (!msg.accept) return failed(rejection(msg.reason));
      if (!offerHasData(config.offer!)) return { state: { kind: 'done' }, actions: [{ type: 'done', bytes: 0 }] };
      if (msg.resume !== undefined) {
        // Only a file, folder or bundle has a fixed size to hold a prefix of; a claim beyond it cannot be a prefix.
        if (!resumable(config.offer!, msg.resume.bytes)) break;
        return {
          state: { kind: 'checkingResume', config, channel, claim: msg.resume },
          actions: [{ type: 'checkResume', claim: msg.resume }],
        };
      }
      return { state: { kind: 'sending', config, channel }, actions: [{ type: 'startSending', from: 0 }] };
    case 'awaitingResume':
      if (msg.type !== 'resume') break;
      if (msg.bytes !== 0 && msg.bytes !== state.claim.bytes) break;
      return { state: { kind: 'receiving', config, channel }, actions: [{ type: 'startReceiving', from: msg.bytes }] };
    case 'receiving': {
      if (msg.type !== 'sent' || state.claimed !== undefined) break;
      const result = compareDigests({ ...state, claimed: { bytes: msg.bytes, sha256: msg.sha256 } });
      return state.got === undefined ? { ...result, actions: [...result.actions, { type: 'peerSent' }] } : result;
    }
    case 'awaitingReceipt':
      if (msg.type !== 'received') break;
      if (msg.bytes !== state.sent.bytes || msg.sha256 !== state.sent.sha256) {
        return failed(createError('CORRUPT', 'the receiver reports a different SHA-256 than was sent'));
      }
      return { state: { kind: 'done' }, actions: [{ type: 'done', ...state.sent }] };
    default:
      break;
  }
  return abort(state, createError('PROTOCOL', `unexpected '${msg.type}' message while ${state.kind}`));
}

/** Signals pass through in every confirmed state, for an agreed ability only, and boundedly. */
function onPeerSignal(state: OpenState, topic: string, body: unknown): StepResult {
  const { channel } = state;
  if (!channel.abilities.includes(topic))
    return abort(state, createError('PROTOCOL', `a signal for '${topic}', which was not agreed`));
  if (channel.signals >= MAX_PEER_SIGNALS)
    return abort(state, createError('PROTOCOL', 'the peer sent too many signals'));
  return {
    state: { ...state, channel: { ...channel, signals: channel.signals + 1 } },
    actions: [{ type: 'signal', topic, body }],
  };
}

function onLocal(state: OpenState, event: SessionEvent): StepResult {
  const { config, channel } = state;
  if (event.type === 'signal' && channel.abilities.includes(event.topic)) {
    const [sent, send] = seal(channel, { type: 'signal', topic: event.topic, body: event.body });
    return { state: { ...state, channel: sent }, actions: [send] };
  }
  if (state.kind === 'deciding' && event.type === 'decision') {
    if (!event.accept) {
      const [, answer] = seal(channel, { type: 'answer', accept: false, reason: event.reason });
      const error =
        event.reason === 'REJECTED'
          ? createError('REJECTED', 'you declined the transfer', { hint: 'Nothing was received.' })
          : createError(event.reason, 'refused before receiving');
      return { state: { kind: 'failed', error }, actions: [answer, { type: 'fail', error }] };
    }
    const claim = event.resume;
    // A prefix only of a file, folder or bundle, and no longer than it (the sender would refuse it).
    if (claim !== undefined && !resumable(state.offer, claim.bytes)) {
      return unexpected(event);
    }
    const [sent, answer] = seal(
      channel,
      claim === undefined ? { type: 'answer', accept: true } : { type: 'answer', accept: true, resume: claim },
    );
    if (!offerHasData(state.offer)) return { state: { kind: 'done' }, actions: [answer, { type: 'done', bytes: 0 }] };
    if (claim !== undefined) {
      return { state: { kind: 'awaitingResume', config, channel: sent, claim }, actions: [answer] };
    }
    return {
      state: { kind: 'receiving', config, channel: sent },
      actions: [answer, { type: 'startReceiving', from: 0 }],
    };
  }
  if (state.kind === 'checkingResume' && event.type === 'resumeChecked') {
    const from = event.matches ? state.claim.bytes : 0;
    const [sent, message] = seal(channel, { type: 'resume', bytes: from });
    return { state: { kind: 'sending', config, channel: sent }, actions: [message, { type: 'startSending', from }] };
  }
  if (state.kind === 'sending' && event.type === 'dataSent') {
    const digest = { bytes: event.bytes, sha256: event.sha256 };
    const [sent, message] = seal(channel, { type: 'sent', ...digest });
    return { state: { kind: 'awaitingReceipt', config, channel: sent, sent: digest }, actions: [message] };
  }
  if (state.kind === 'receiving' && event.type === 'dataReceived' && state.got === undefined) {
    return compareDigests({ ...state, got: { bytes: event.bytes, sha256: event.sha256 } });
  }
  if (state.kind === 'committing' && event.type === 'committed') {
    const [, receipt] = seal(channel, { type: 'received', ...state.got });
    return { state: { kind: 'done' }, actions: [receipt, { type: 'done', ...state.got }] };
  }
  return unexpected(event);
}

/** The receiver commits only once its own digest of the plaintext matches what the sender says it sent. */
function compareDigests(state: Extract<SessionState, { kind: 'receiving' }>): StepResult {
  const { claimed, got } = state;
  if (claimed === undefined || got === undefined) return { state, actions: [] };
  if (claimed.bytes !== got.bytes || claimed.sha256 !== got.sha256) {
    return abort(state, createError('CORRUPT', 'the received data does not match the SHA-256 the sender sent'));
  }
  return {
    state: { kind: 'committing', config: state.config, channel: state.channel, got },
    actions: [{ type: 'commit' }],
  };
}

/** Seals `msg` with the channel's next index: the channel after it, and the action sending it. */
function seal(channel: Channel, msg: SealedMessage): [Channel, SessionAction] {
  const body = sealFrame(channel.seal, CONTROL_STREAM, channel.sealIndex, false, encodeSealed(msg));
  return [
    { ...channel, sealIndex: channel.sealIndex + 1 },
    { type: 'send', body },
  ];
}

/**
 * A side's local file problems reach the peer by their code and a fixed text: their own messages name this
 * computer's paths ("no space left to write /home/ana/Downloads/x"), which are none of the peer's business.
 */
const LOCAL_PROBLEMS: Partial<Record<ErrorCode, string>> = {
  FILE_ERROR: 'a file problem on its side',
  FILE_EXISTS: 'it already has a file or folder by that name',
  DISK_FULL: 'no space left on its disk',
  FILE_CHANGED: 'the data changed while it was being sent',
};

/** Fails locally and, once the channel is confirmed, tells the peer why (sealed). */
function abort(state: Live, error: PortunusError): StepResult {
  if (!('channel' in state)) return failed(error);
  const message = (LOCAL_PROBLEMS[error.code] ?? error.message).slice(0, 200);
  const [, notice] = seal(state.channel, { type: 'error', code: error.code, message });
  return { state: { kind: 'failed', error }, actions: [notice, { type: 'fail', error }] };
}

function unexpected(event: SessionEvent): StepResult {
  return failed(createError('INTERNAL', `unexpected local event '${event.type}'`));
}

/** The sender's error for the receiver's refusal; a refusal for a local reason keeps that reason as its cause. */
function rejection(reason: Refusal): PortunusError {
  if (reason === 'REJECTED') return createError('REJECTED', 'the receiver declined the transfer');
  const why = reason === 'FILE_EXISTS' ? 'it already has a file by that name' : 'its disk is full';
  return createError('REJECTED', `the receiver refused: ${why}`, { cause: createError(reason, why) });
}

/** Maps an error the peer reports to what it means on this side (its local problems are not ours). */
function peerError(code: string, message: string): PortunusError {
  // Its own words ("cancelled on this side") would be wrong here; what it did is what this side reports.
  if (code === 'CANCELLED') return createError('CANCELLED', 'the other side cancelled the transfer');
  if (code === 'REJECTED') {
    // Its reason (`--verify` answered no: "the verification strings do not match"), when it gave one.
    return createError('REJECTED', `the other side declined the transfer${message === '' ? '' : `: ${message}`}`);
  }
  if (code === 'CORRUPT') return createError('CORRUPT', `the other side reports corrupted data: ${message}`);
  return createError('PEER_FAILED', `the other side failed (${code}): ${message}`);
}

/** Whether `bytes` can be a prefix of what `offer` sends: a file's or tar's first bytes (PROTOCOL.md §4.12). */
function resumable(offer: Offer, bytes: number): boolean {
  return (offer.kind === 'file' || offer.kind === 'folder' || offer.kind === 'bundle') && bytes <= offer.size;
}
