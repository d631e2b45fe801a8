/**
 * The session machine's values (session.ts): its configuration, the events fed to it, the actions it returns and
 * its states. States are plain values — counters and keys, no objects that change — so `step()` can be tested by
 * comparing values, and a state once returned never changes.
 */
import type { Aead, AeadFactory } from './aead.js';
import type { RandomBytes } from './bytes.js';
import type { Code } from './code.js';
import type { Transcript } from './confirm.js';
import type { CpaceShare } from './cpace.js';
import type { PortunusError } from './errors.js';
import type { SessionKeys, Side } from './keys.js';
import type { Offer } from './offer.js';
import type { ResumeClaim, Role } from './peer-messages.js';

export interface SessionConfig {
  role: Role;
  code: Code;
  /** Abilities this side offers (the data paths it allows), in preference order. */
  abilities: readonly string[];
  /** Required when role is 'send'. */
  offer?: Offer;
  aead: AeadFactory;
  random: RandomBytes;
}

export type Refusal = 'REJECTED' | 'FILE_EXISTS' | 'DISK_FULL';
/** What a side counted and hashed of the data: the sender's claim and the receiver's check compare these. */
export interface Digest {
  bytes: number;
  sha256: string;
}
/** The receiver's answer to an offer; `resume`: what it already holds of the file (PROTOCOL.md §4.12). */
export type Decision = { accept: true; resume?: ResumeClaim } | { accept: false; reason: Refusal };

export type SessionEvent =
  | { type: 'paired'; side: Side; sid: Uint8Array; relayName: string }
  | { type: 'message'; body: Uint8Array }
  | ({ type: 'decision' } & Decision)
  /** Sender: whether the receiver's resume claim matches the first bytes of the file here. */
  | { type: 'resumeChecked'; matches: boolean }
  | { type: 'dataSent'; bytes: number; sha256: string }
  | { type: 'dataReceived'; bytes: number; sha256: string }
  | { type: 'committed' }
  /**
   * The relay says the peer left before the key exchange was complete and the room waits again (PROTOCOL.md §2.4,
   * §3.6): before any data the session starts over at the next `paired`; later it is the peer gone.
   */
  | { type: 'unpaired' }
  /** Local: seal and send something a path needs to come up (its topic: an agreed ability). */
  | { type: 'signal'; topic: string; body: unknown }
  | { type: 'abort'; error: PortunusError };

export type SessionAction =
  | { type: 'send'; body: Uint8Array }
  | { type: 'burn' }
  /** `abilities`: what both sides announced (in this side's order); `peerAbilities`: everything the peer announced. */
  | { type: 'confirmed'; keys: SessionKeys; side: Side; abilities: string[]; peerAbilities: string[]; verifier: string }
  | { type: 'offer'; offer: Offer }
  /** Sender: check the receiver's claim against the file's own first `bytes` (never trust the claim alone). */
  | { type: 'checkResume'; claim: ResumeClaim }
  /** `from`: the bytes both sides already hold; the data stream carries the rest. */
  | { type: 'startSending'; from: number }
  | { type: 'startReceiving'; from: number }
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
  /** Something from the peer for the path layer (topic: the path's ability). */
  | { type: 'signal'; topic: string; body: unknown };

/** The sealed control channel once keys are confirmed: keys and counters, nothing that changes in place. */
export interface Channel {
  /** This side's message key, and the index of the next message it seals (stream 0). */
  readonly seal: Aead;
  readonly sealIndex: number;
  /** The peer's message key, and the index its next message must carry. */
  readonly open: Aead;
  readonly openIndex: number;
  /** Abilities both sides announced: the topics a signal may carry. */
  readonly abilities: readonly string[];
  /** Signals received from the peer so far (at most MAX_PEER_SIGNALS). */
  readonly signals: number;
}

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
  | { kind: 'checkingResume'; config: SessionConfig; channel: Channel; claim: ResumeClaim }
  | { kind: 'awaitingResume'; config: SessionConfig; channel: Channel; claim: ResumeClaim }
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
