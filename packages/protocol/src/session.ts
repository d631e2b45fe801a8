/**
 * The peer session as a sans-IO state machine: `step(state, event) → { state, actions }`.
 *
 * It covers everything said between the peers on the control channel — CPace, key confirmation, the offer, the
 * answer and the end-of-transfer receipts — and nothing else: no sockets, no files, no clocks. A driver (cli/)
 * feeds it events (relay messages, user decisions, "all data sent") and performs the actions it returns (send a
 * body, burn the nameplate, start the data stream, commit the file, finish). Data frames themselves never pass
 * through here: they are high-volume and go straight from the transport to the frame opener and the sink.
 *
 *   A (initiator, relay side a)                         B (responder, side b)
 *   pake {role, abilities, Ya}  ───────────────────────►
 *                               ◄─────────────────────── pake {role, abilities, Yb}
 *   confirm {mac_a}             ───────────────────────►
 *                               ◄─────────────────────── confirm {mac_b}
 *   ═════════ sealed with the message keys from here on ═════════
 *   sender: offer ──► receiver: answer ──► data frames ──► sender: sent {sha256} ──► receiver: received {sha256}
 *
 * When both sides announced `webrtc-v1`, sealed `signal` messages (WebRTC offer, answer, candidates) may flow either
 * way in any confirmed state; the machine passes them through (`signal` actions) and bounds them, the driver's
 * direct-path attempts act on them. Likewise with `tcp-v1`, each side may send one sealed `hints` message (where it
 * listens for a direct TCP connection), passed through as a `hints` action.
 */
import type { AeadFactory } from './aead.js';
import { constantTimeEqual, utf8, type RandomBytes } from './bytes.js';
import { normalizeCode, type Code } from './code.js';
import { checkConfirmation, confirmationMac, type Transcript } from './confirm.js';
import { abilitiesAd, cpaceCi, cpaceFinish, cpaceStart, type CpaceShare } from './cpace.js';
import { createError, PortunusError, type ErrorCode } from './errors.js';
import { FrameOpener, FrameSealer } from './frame.js';
import { deriveSessionKeys, type SessionKeys, type Side } from './keys.js';
import { offerHasData, type Offer } from './offer.js';
import {
  ABILITY_TCP,
  ABILITY_WEBRTC,
  encodeHandshake,
  encodeSealed,
  parseHandshake,
  parseSealed,
  type Role,
  type SealedMessage,
  type TcpHint,
} from './peer-messages.js';
import { MAX_PEER_SIGNALS, type Signal } from './signal.js';

/** Stream id of sealed control messages (data streams use 1 and up). */
export const CONTROL_STREAM = 0;

export interface SessionConfig {
  role: Role;
  code: Code;
  /** Abilities this side offers, in preference order. */
  abilities: readonly string[];
  /** Required when role is 'send'. */
  offer?: Offer;
  aead: AeadFactory;
  random: RandomBytes;
}

export type SessionEvent =
  | { type: 'paired'; side: Side; sid: Uint8Array; relayName: string }
  | { type: 'message'; body: Uint8Array }
  | { type: 'decision'; accept: true }
  | { type: 'decision'; accept: false; reason: 'REJECTED' | 'FILE_EXISTS' | 'DISK_FULL' }
  | { type: 'dataSent'; bytes: number; sha256: string }
  | { type: 'dataReceived'; bytes: number; sha256: string }
  | { type: 'committed' }
  /**
   * The relay says the peer left before the key exchange was complete and the room waits again (PROTOCOL.md §3):
   * before any data the session starts over at the next `paired`; later it is the peer gone.
   */
  | { type: 'unpaired' }
  /** Local: seal and send a WebRTC signal to the peer. */
  | { type: 'signal'; signal: Signal }
  /** Local: seal and send where this side listens for a direct TCP connection. */
  | { type: 'hints'; hints: TcpHint[] }
  | { type: 'abort'; error: PortunusError };

export type SessionAction =
  | { type: 'send'; body: Uint8Array }
  | { type: 'burn' }
  /** `abilities`: what both sides announced (in this side's order); `peerAbilities`: everything the peer announced. */
  | { type: 'confirmed'; keys: SessionKeys; side: Side; abilities: string[]; peerAbilities: string[]; verifier: string }
  | { type: 'offer'; offer: Offer }
  | { type: 'startSending' }
  | { type: 'startReceiving' }
  | { type: 'commit' }
  | { type: 'done'; bytes: number; sha256?: string }
  | { type: 'fail'; error: PortunusError }
  /** The peer left before the key exchange completed: wait for the next `paired` and start over. */
  | { type: 'unpaired' }
  /**
   * Receiver: the sender's `sent` came before the data stream ended here. The sender sends it only once the FINAL
   * frame was acknowledged, so the data plane must already hold FINAL; if it does not, the stream was cut short.
   */
  | { type: 'peerSent' }
  /** A WebRTC signal from the peer, for the transport selection. */
  | { type: 'signal'; signal: Signal }
  /** Where the peer listens for a direct TCP connection. */
  | { type: 'hints'; hints: TcpHint[] };

interface Channel {
  sealer: FrameSealer;
  opener: FrameOpener;
  /** Both sides announced webrtc-v1: only then may `signal` messages flow. */
  webrtc: boolean;
  /** Signals received from the peer so far (at most MAX_PEER_SIGNALS). */
  signals: number;
  /** Both sides announced tcp-v1: only then may a `hints` message flow. */
  tcp: boolean;
  /** The peer already sent its (one) `hints` message. */
  hinted: boolean;
}
type Digest = { bytes: number; sha256: string };

export type SessionState =
  | { kind: 'idle'; config: SessionConfig }
  | { kind: 'awaitingPake'; config: SessionConfig; side: Side; sid: Uint8Array; share: CpaceShare }
  | {
      kind: 'awaitingConfirm';
      config: SessionConfig;
      side: Side;
      keys: SessionKeys;
      transcript: Transcript;
      abilities: string[];
      peerAbilities: string[];
    }
  | { kind: 'awaitingOffer'; config: SessionConfig; channel: Channel }
  | { kind: 'deciding'; config: SessionConfig; channel: Channel; offer: Offer }
  | { kind: 'awaitingAnswer'; config: SessionConfig; channel: Channel }
  | { kind: 'sending'; config: SessionConfig; channel: Channel }
  | { kind: 'awaitingReceipt'; config: SessionConfig; channel: Channel; sent: Digest }
  | { kind: 'receiving'; config: SessionConfig; channel: Channel; claimed?: Digest; got?: Digest }
  | { kind: 'committing'; config: SessionConfig; channel: Channel; got: Digest }
  | { kind: 'done' }
  | { kind: 'failed'; error: PortunusError };

export interface StepResult {
  state: SessionState;
  actions: SessionAction[];
}

export function initialState(config: SessionConfig): SessionState {
  if (config.role === 'send' && config.offer === undefined) throw createError('INTERNAL', 'a sender needs an offer');
  return { kind: 'idle', config };
}

/** AD of one side: lv_cat(role, ability…), so a relay that rewrites either changes the key. */
function handshakeAd(role: Role, abilities: readonly string[]): Uint8Array {
  return abilitiesAd([role, ...abilities]);
}

export function step(state: SessionState, event: SessionEvent): StepResult {
  if (state.kind === 'done' || state.kind === 'failed') return { state, actions: [] };
  try {
    if (event.type === 'abort') return abort(state, event.error);
    if (event.type === 'unpaired') return onUnpaired(state);
    return dispatch(state, event);
  } catch (err) {
    const error = err instanceof PortunusError ? err : createError('INTERNAL', String(err), { cause: err });
    return fail(error);
  }
}

/**
 * The relay sends `unpaired` only while the key exchange is incomplete; side a's confirmation (sent only after b's
 * checked out) may still have been in flight, so a sender waiting for the answer starts over too. Starting over is
 * safe: whoever left either learnt nothing about the code, or proved it knew the code. Once the receiver is asked
 * or data flows, the peer is simply gone.
 */
function onUnpaired(state: Exclude<SessionState, { kind: 'done' | 'failed' }>): StepResult {
  switch (state.kind) {
    case 'idle':
    case 'awaitingPake':
    case 'awaitingConfirm':
    case 'awaitingAnswer':
      return { state: { kind: 'idle', config: state.config }, actions: [{ type: 'unpaired' }] };
    default:
      return fail(createError('PEER_GONE', 'the other side disconnected'));
  }
}

function dispatch(state: Exclude<SessionState, { kind: 'done' | 'failed' }>, event: SessionEvent): StepResult {
  switch (state.kind) {
    case 'idle':
      if (event.type !== 'paired') return unexpected(event);
      return onPaired(state.config, event);
    case 'awaitingPake':
      if (event.type !== 'message') return unexpected(event);
      return onPake(state, event.body);
    case 'awaitingConfirm':
      if (event.type !== 'message') return unexpected(event);
      return onConfirm(state, event.body);
    default:
      return onOpen(state, event);
  }
}

/**
 * What the end of the control channel means in `state`. Side b confirms first (§4), so a b whose code was wrong
 * never sees a's confirmation: a burns the nameplate instead, and the relay's NAMEPLATE_BURNED is b's only news of
 * the failed confirmation.
 */
export function explainEnd(state: SessionState, error: PortunusError): PortunusError {
  if (state.kind === 'awaitingConfirm' && state.side === 'b' && error.code === 'NAMEPLATE_BURNED') {
    return createError('WRONG_CODE', 'key confirmation failed: the two sides used different codes');
  }
  return error;
}

function onPaired(config: SessionConfig, event: { side: Side; sid: Uint8Array; relayName: string }): StepResult {
  const prs = utf8(normalizeCode(config.code));
  const ad = handshakeAd(config.role, config.abilities);
  const share = cpaceStart({ prs, ci: cpaceCi(event.relayName), sid: event.sid }, ad, config.random);
  const body = encodeHandshake({ type: 'pake', sid: event.sid, role: config.role, abilities: [...config.abilities], y: share.y });
  return {
    state: { kind: 'awaitingPake', config, side: event.side, sid: event.sid, share },
    actions: [{ type: 'send', body }],
  };
}

function onPake(state: Extract<SessionState, { kind: 'awaitingPake' }>, body: Uint8Array): StepResult {
  const { config, side, sid, share } = state;
  const pake = parseHandshake(body, 'pake');
  if (pake instanceof PortunusError) return fail(pake);
  // A share from an earlier pairing of the peer's side (it left; the relay paired us anew) reaches us late: not
  // this run's, and not a guess either. Ignored; this run's share follows.
  if (!constantTimeEqual(pake.sid, sid)) return { state, actions: [] };
  if (pake.role === config.role) {
    return fail(createError(config.role === 'send' ? 'BOTH_SENDING' : 'BOTH_RECEIVING', `both sides ran \`portunus ${config.role}\``));
  }
  const peer = { y: pake.y, ad: handshakeAd(pake.role, pake.abilities) };
  let isk: Uint8Array;
  try {
    isk = cpaceFinish(share, side === 'a' ? 'initiator' : 'responder', peer, sid);
  } catch (err) {
    // An invalid or identity element: the peer is not following the protocol; treat it as a failed guess.
    return failAndBurn(err instanceof PortunusError ? err : createError('PAKE_FAILED', 'invalid CPace share'));
  }
  const keys = deriveSessionKeys(isk, sid);
  const mine = { y: share.y, ad: share.ad };
  const transcript: Transcript =
    side === 'a' ? { ya: mine.y, ada: mine.ad, yb: peer.y, adb: peer.ad } : { ya: peer.y, ada: peer.ad, yb: mine.y, adb: mine.ad };
  const abilities = config.abilities.filter((a) => pake.abilities.includes(a));
  const state2 = { kind: 'awaitingConfirm', config, side, keys, transcript, abilities, peerAbilities: pake.abilities } as const;
  // Side b confirms first; side a only once b's confirmation checked out (onConfirm). So a claimer that leaves
  // before a's confirmation has learnt nothing about the code, and the relay may let side a wait on (§4).
  if (side === 'a') return { state: state2, actions: [] };
  return { state: state2, actions: [confirmation(keys, side, transcript)] };
}

function confirmation(keys: SessionKeys, side: Side, transcript: Transcript): SessionAction {
  return { type: 'send', body: encodeHandshake({ type: 'confirm', mac: confirmationMac(keys, side, transcript) }) };
}

function onConfirm(state: Extract<SessionState, { kind: 'awaitingConfirm' }>, body: Uint8Array): StepResult {
  const { config, side, keys, transcript, abilities, peerAbilities } = state;
  const confirm = parseHandshake(body, 'confirm');
  if (confirm instanceof PortunusError) return failAndBurn(confirm);
  const peerSide: Side = side === 'a' ? 'b' : 'a';
  if (!checkConfirmation(keys, peerSide, transcript, confirm.mac)) {
    return failAndBurn(createError('WRONG_CODE', 'key confirmation failed: the two sides used different codes'));
  }
  const channel: Channel = {
    sealer: new FrameSealer(config.aead(keys.message[side]), CONTROL_STREAM),
    opener: new FrameOpener(config.aead(keys.message[peerSide]), CONTROL_STREAM),
    webrtc: abilities.includes(ABILITY_WEBRTC),
    signals: 0,
    tcp: abilities.includes(ABILITY_TCP),
    hinted: false,
  };
  const actions: SessionAction[] = [];
  if (side === 'a') actions.push(confirmation(keys, side, transcript));
  actions.push({ type: 'confirmed', keys, side, abilities, peerAbilities, verifier: keys.verifier });
  if (config.role === 'receive') return { state: { kind: 'awaitingOffer', config, channel }, actions };
  actions.push(seal(channel, { type: 'offer', offer: config.offer! }));
  return { state: { kind: 'awaitingAnswer', config, channel }, actions };
}

type OpenState = Extract<SessionState, { channel: Channel }>;

function onOpen(state: OpenState, event: SessionEvent): StepResult {
  if (event.type === 'message') {
    const plaintext = state.channel.opener.open(event.body).plaintext;
    const msg = parseSealed(plaintext);
    if (msg instanceof PortunusError) return abort(state, msg);
    return onSealed(state, msg);
  }
  return onLocal(state, event);
}

function onSealed(state: OpenState, msg: SealedMessage): StepResult {
  const { config, channel } = state;
  if (msg.type === 'error') return fail(peerError(msg.code, msg.message));
  if (msg.type === 'signal') return onPeerSignal(state, msg.signal);
  if (msg.type === 'hints') return onPeerHints(state, msg.hints);
  switch (state.kind) {
    case 'awaitingOffer':
      if (msg.type !== 'offer') break;
      return { state: { kind: 'deciding', config, channel, offer: msg.offer }, actions: [{ type: 'offer', offer: msg.offer }] };
    case 'awaitingAnswer':
      if (msg.type !== 'answer') break;
      if (!msg.accept) return fail(rejection(msg.reason));
      if (!offerHasData(config.offer!)) return { state: { kind: 'done' }, actions: [{ type: 'done', bytes: 0 }] };
      return { state: { kind: 'sending', config, channel }, actions: [{ type: 'startSending' }] };
    case 'receiving': {
      if (msg.type !== 'sent' || state.claimed !== undefined) break;
      const result = compareDigests({ ...state, claimed: { bytes: msg.bytes, sha256: msg.sha256 } });
      return state.got === undefined ? { ...result, actions: [...result.actions, { type: 'peerSent' }] } : result;
    }
    case 'awaitingReceipt':
      if (msg.type !== 'received') break;
      if (msg.bytes !== state.sent.bytes || msg.sha256 !== state.sent.sha256) {
        return fail(createError('CORRUPT', 'the receiver reports a different SHA-256 than was sent'));
      }
      return { state: { kind: 'done' }, actions: [{ type: 'done', ...state.sent }] };
    default:
      break;
  }
  return abort(state, createError('PROTOCOL', `unexpected '${msg.type}' message while ${state.kind}`));
}

/** Signals pass through in every confirmed state, but only when both sides announced webrtc-v1, and boundedly. */
function onPeerSignal(state: OpenState, signal: Signal): StepResult {
  const { channel } = state;
  if (!channel.webrtc) return abort(state, createError('PROTOCOL', 'a WebRTC signal although webrtc-v1 was not agreed'));
  if (channel.signals >= MAX_PEER_SIGNALS) return abort(state, createError('PROTOCOL', 'the peer sent too many WebRTC signals'));
  return { state: { ...state, channel: { ...channel, signals: channel.signals + 1 } }, actions: [{ type: 'signal', signal }] };
}

/** Hints pass through once per session, in any confirmed state, only when both sides announced tcp-v1. */
function onPeerHints(state: OpenState, hints: TcpHint[]): StepResult {
  const { channel } = state;
  if (!channel.tcp || channel.hinted) return abort(state, createError('PROTOCOL', `unexpected 'hints' message while ${state.kind}`));
  return { state: { ...state, channel: { ...channel, hinted: true } }, actions: [{ type: 'hints', hints }] };
}

function onLocal(state: OpenState, event: SessionEvent): StepResult {
  const { config, channel } = state;
  if (event.type === 'signal' && channel.webrtc) {
    return { state, actions: [seal(channel, { type: 'signal', signal: event.signal })] };
  }
  if (event.type === 'hints' && channel.tcp) {
    return { state, actions: [seal(channel, { type: 'hints', hints: event.hints })] };
  }
  if (state.kind === 'deciding' && event.type === 'decision') {
    if (!event.accept) {
      const answer = seal(channel, { type: 'answer', accept: false, reason: event.reason });
      const error = event.reason === 'REJECTED' ? createError('REJECTED', 'you declined the transfer', { hint: 'Nothing was received.' }) : createError(event.reason, 'refused before receiving');
      return { state: { kind: 'failed', error }, actions: [answer, { type: 'fail', error }] };
    }
    const answer = seal(channel, { type: 'answer', accept: true });
    if (!offerHasData(state.offer)) return { state: { kind: 'done' }, actions: [answer, { type: 'done', bytes: 0 }] };
    return { state: { kind: 'receiving', config, channel }, actions: [answer, { type: 'startReceiving' }] };
  }
  if (state.kind === 'sending' && event.type === 'dataSent') {
    const sent = { bytes: event.bytes, sha256: event.sha256 };
    return { state: { kind: 'awaitingReceipt', config, channel, sent }, actions: [seal(channel, { type: 'sent', ...sent })] };
  }
  if (state.kind === 'receiving' && event.type === 'dataReceived' && state.got === undefined) {
    return compareDigests({ ...state, got: { bytes: event.bytes, sha256: event.sha256 } });
  }
  if (state.kind === 'committing' && event.type === 'committed') {
    const receipt = seal(channel, { type: 'received', ...state.got });
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
  return { state: { kind: 'committing', config: state.config, channel: state.channel, got }, actions: [{ type: 'commit' }] };
}

function seal(channel: Channel, msg: SealedMessage): SessionAction {
  return { type: 'send', body: channel.sealer.seal(encodeSealed(msg)) };
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
function abort(state: Exclude<SessionState, { kind: 'done' | 'failed' }>, error: PortunusError): StepResult {
  if (!('channel' in state)) return fail(error);
  const message = (LOCAL_PROBLEMS[error.code] ?? error.message).slice(0, 200);
  const notice = seal(state.channel, { type: 'error', code: error.code, message });
  return { state: { kind: 'failed', error }, actions: [notice, { type: 'fail', error }] };
}

function fail(error: PortunusError): StepResult {
  return { state: { kind: 'failed', error }, actions: [{ type: 'fail', error }] };
}

/** A failed PAKE or confirmation burns the nameplate, so an attacker gets exactly one guess per code. */
function failAndBurn(error: PortunusError): StepResult {
  return { state: { kind: 'failed', error }, actions: [{ type: 'burn' }, { type: 'fail', error }] };
}

function unexpected(event: SessionEvent): StepResult {
  return fail(createError('INTERNAL', `unexpected local event '${event.type}'`));
}

function rejection(reason: 'REJECTED' | 'FILE_EXISTS' | 'DISK_FULL'): PortunusError {
  if (reason === 'REJECTED') return createError('REJECTED', 'the receiver declined the transfer');
  const why = reason === 'FILE_EXISTS' ? 'it already has a file by that name' : 'its disk is full';
  return createError('REJECTED', `the receiver refused: ${why}`, {
    hint: reason === 'FILE_EXISTS' ? 'The receiver can pass --overwrite or choose another name with -o.' : 'The receiver needs more free space.',
  });
}

/** Maps an error the peer reports to what it means on this side (its local problems are not ours). */
function peerError(code: string, message: string): PortunusError {
  // Its own words ("cancelled on this side") would be wrong here; what it did is what this side reports.
  if (code === 'CANCELLED') return createError('CANCELLED', 'the other side cancelled the transfer');
  if (code === 'REJECTED') return createError('REJECTED', 'the other side declined the transfer');
  if (code === 'CORRUPT') return createError('CORRUPT', `the other side reports corrupted data: ${message}`);
  return createError('PEER_FAILED', `the other side failed (${code}): ${message}`);
}
