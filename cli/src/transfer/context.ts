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
  /** The configured relay (--relay > PORTUNUS_RELAY > config file); undefined means LAN mode. */
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
}

const ABILITY: Record<PathKind, string> = { relay: ABILITY_RELAY, webrtc: ABILITY_WEBRTC, tcp: ABILITY_TCP };

/** Abilities announced in the PAKE (and bound into the key): one per data path this side allows. */
export function abilitiesFor(paths: readonly PathKind[]): string[] {
  return (['relay', 'webrtc', 'tcp'] as const).filter((p) => paths.includes(p)).map((p) => ABILITY[p]);
}

/** The data paths both sides allow, from the agreed abilities. */
export function agreedPaths(abilities: readonly string[]): Set<PathKind> {
  return new Set((['relay', 'webrtc', 'tcp'] as const).filter((p) => abilities.includes(ABILITY[p])));
}

/** DIRECT_FAILED when the two policies share no data path (checked before any data, by the receiver). */
export function noCommonPath(mine: readonly string[], theirs: readonly string[]): PortunusError | undefined {
  if (agreedPaths(mine.filter((a) => theirs.includes(a))).size > 0) return undefined;
  const list = (abilities: readonly string[]) => [...agreedPaths(abilities)].join(',') || 'none';
  return createError(
    'DIRECT_FAILED',
    `no data path both sides allow (this side: ${list(mine)}; the other: ${list(theirs)})`,
    {
      hint: 'Both sides must allow a common path: use --transport auto, or the same --transport on both sides.',
    },
  );
}
