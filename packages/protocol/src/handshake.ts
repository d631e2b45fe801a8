/**
 * The session's key exchange (PROTOCOL.md §3): CPace shares both ways at once, then key confirmation — side b
 * first, side a only once b's MAC checked out — after which every message is sealed (session.ts).
 *
 *   A (initiator, relay side a)                         B (responder, side b)
 *   pake {sid, role, abilities, Ya} ───────────────────►
 *                               ◄─────────────────────── pake {sid, role, abilities, Yb}
 *                               ◄─────────────────────── confirm {mac_b}
 *   confirm {mac_a}             ───────────────────────►   (sent only once mac_b checked out)
 *
 * Why b first: without a's MAC a claimer learns nothing about the code from a run (its one guess is fixed in its
 * share, and only a's output could test it). So a b that leaves before a confirmed spent nothing and learnt
 * nothing, and the relay may put the room back to waiting for the next claimer (`unpaired`).
 */
import { constantTimeEqual, utf8 } from './bytes.js';
import { normalizeCode } from './code.js';
import { checkConfirmation, confirmationMac, type Transcript } from './confirm.js';
import { abilitiesAd, cpaceCi, cpaceFinish, cpaceStart } from './cpace.js';
import { createError, PortunusError } from './errors.js';
import { deriveSessionKeys, type SessionKeys, type Side } from './keys.js';
import { encodeHandshake, parseHandshake, type Role } from './peer-messages.js';
import type { Channel, SessionAction, SessionConfig, SessionState, StepResult } from './session-types.js';

/** AD of one side: lv_cat(role, ability…), so a relay that rewrites either changes the key. */
function handshakeAd(role: Role, abilities: readonly string[]): Uint8Array {
  return abilitiesAd([role, ...abilities]);
}

export function onPaired(config: SessionConfig, event: { side: Side; sid: Uint8Array; relayName: string }): StepResult {
  const prs = utf8(normalizeCode(config.code));
  const ad = handshakeAd(config.role, config.abilities);
  const share = cpaceStart({ prs, ci: cpaceCi(event.relayName), sid: event.sid }, ad, config.random);
  const body = encodeHandshake({
    type: 'pake',
    sid: event.sid,
    role: config.role,
    abilities: [...config.abilities],
    y: share.y,
  });
  return {
    state: { kind: 'awaitingPake', config, side: event.side, sid: event.sid, share },
    actions: [{ type: 'send', body }],
  };
}

export function onPake(state: Extract<SessionState, { kind: 'awaitingPake' }>, body: Uint8Array): StepResult {
  const { config, side, sid, share } = state;
  const pake = parseHandshake(body, 'pake');
  if (pake instanceof PortunusError) return failed(pake);
  // A share from an earlier pairing of the peer's side (it left; the relay paired us anew) reaches us late: not
  // this run's, and not a guess either. Ignored; this run's share follows.
  if (!constantTimeEqual(pake.sid, sid)) return { state, actions: [] };
  if (pake.role === config.role) {
    return failed(
      createError(
        config.role === 'send' ? 'BOTH_SENDING' : 'BOTH_RECEIVING',
        `both sides ran \`portunus ${config.role}\``,
      ),
    );
  }
  const peer = { y: pake.y, ad: handshakeAd(pake.role, pake.abilities) };
  let isk: Uint8Array;
  try {
    isk = cpaceFinish(share, side === 'a' ? 'initiator' : 'responder', peer, sid);
  } catch (err) {
    // An invalid or identity element: the peer is not following the protocol; treat it as a failed guess.
    return burned(err instanceof PortunusError ? err : createError('PAKE_FAILED', 'invalid CPace share'));
  }
  const keys = deriveSessionKeys(isk, sid);
  const mine = { y: share.y, ad: share.ad };
  const transcript: Transcript =
    side === 'a'
      ? { ya: mine.y, ada: mine.ad, yb: peer.y, adb: peer.ad }
      : { ya: peer.y, ada: peer.ad, yb: mine.y, adb: mine.ad };
  const abilities = config.abilities.filter((a) => pake.abilities.includes(a));
  const next = {
    kind: 'awaitingConfirm',
    config,
    side,
    keys,
    transcript,
    abilities,
    peerAbilities: pake.abilities,
  } as const;
  // Side b confirms first; side a only once b's confirmation checked out (onConfirm).
  return { state: next, actions: side === 'a' ? [] : [confirmation(keys, side, transcript)] };
}

/** Checks the peer's MAC; then the channel is open (and side a sends its own MAC first). */
export function onConfirm(
  state: Extract<SessionState, { kind: 'awaitingConfirm' }>,
  body: Uint8Array,
): { channel: Channel; actions: SessionAction[] } | StepResult {
  const { config, side, keys, transcript, abilities, peerAbilities } = state;
  const confirm = parseHandshake(body, 'confirm');
  if (confirm instanceof PortunusError) return burned(confirm);
  const peerSide: Side = side === 'a' ? 'b' : 'a';
  if (!checkConfirmation(keys, peerSide, transcript, confirm.mac)) {
    return burned(createError('WRONG_CODE', 'key confirmation failed: the two sides used different codes'));
  }
  const channel: Channel = {
    seal: config.aead(keys.message[side]),
    sealIndex: 0,
    open: config.aead(keys.message[peerSide]),
    openIndex: 0,
    abilities,
    signals: 0,
  };
  const actions: SessionAction[] = side === 'a' ? [confirmation(keys, side, transcript)] : [];
  actions.push({ type: 'confirmed', keys, side, abilities, peerAbilities, verifier: keys.verifier });
  return { channel, actions };
}

function confirmation(keys: SessionKeys, side: Side, transcript: Transcript): SessionAction {
  return { type: 'send', body: encodeHandshake({ type: 'confirm', mac: confirmationMac(keys, side, transcript) }) };
}

export function failed(error: PortunusError): StepResult {
  return { state: { kind: 'failed', error }, actions: [{ type: 'fail', error }] };
}

/** A failed PAKE or confirmation burns the nameplate, so an attacker gets exactly one guess per code. */
function burned(error: PortunusError): StepResult {
  return { state: { kind: 'failed', error }, actions: [{ type: 'burn' }, { type: 'fail', error }] };
}
