/** What every transfer needs from its surroundings, passed in (no module globals): relay, UI, clock, randomness. */
import {
  ABILITY_RELAY,
  ABILITY_TCP,
  ABILITY_WEBRTC,
  createError,
  type IceServer,
  type PathKind,
  type PortunusError,
  type RandomBytes,
} from '@portunus/protocol';
import type { Reporter } from '../ui/reporter.js';
import type { PromptIo } from '../ui/prompt.js';
import type { LanSettings } from '../lan/lan-settings.js';

export interface TransferContext {
  /** The relay: --relay > PORTUNUS_RELAY > config file, or the relay of a link given to receive; undefined: LAN mode. */
  relayUrl?: string;
  /** PEM certificates a wss:// relay's certificate may chain to, besides Node's default roots (--ca, PORTUNUS_CA, config). */
  relayCa?: readonly string[];
  /** LAN mode settings (defaults when absent). */
  lan?: LanSettings;
  /** `portunus/<version>`, sent in the relay hello. */
  agent: string;
  reporter: Reporter;
  prompt: PromptIo;
  random: RandomBytes;
  now: () => number;
  /** Aborted on Ctrl-C: the session tells the peer and cleans up. */
  signal: AbortSignal;
  /** How long to wait for the other side to show up (--timeout). */
  timeoutMs: number;
  /** How long any wait may last without progress once paired (--stall-timeout, stall.ts). */
  stallMs: number;
  /** Plaintext bytes per data frame. */
  chunkSize: number;
  /** --transport: the data paths this side allows (the peer's policy narrows them further). */
  paths: readonly PathKind[];
  /** How long each direct attempt may take. */
  directTimeoutMs: number;
  /** STUN/TURN servers of this side (--ice-server or the config file); the relay may offer more. */
  iceServers: IceServer[];
  /** --verify: the user confirms the verification string before any file data flows (ui/verify.ts). */
  verify?: boolean;
}
