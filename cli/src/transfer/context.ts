/** What every transfer needs from its surroundings, passed in (no module globals): relay, UI, clock, randomness. */
import { ABILITY_RELAY, ABILITY_SWITCH, ABILITY_TCP, ABILITY_WEBRTC, type IceServer, type RandomBytes } from '../protocol.js';
import type { TransportMode } from '../transport/select.js';
import type { Reporter } from '../ui/reporter.js';
import type { PromptIo } from '../ui/prompt.js';
import type { LanSettings } from '../lan/lan-settings.js';
import type { SwitchTestHooks } from './switching-send.js';

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
  /** How long to wait for the other side to show up. */
  timeoutMs: number;
  /** Plaintext bytes per data frame. */
  chunkSize: number;
  /** --transport: auto (direct TCP or WebRTC, else relay), tcp or webrtc (that direct path only) or relay (never direct). */
  transport: TransportMode;
  /** How long the receiver waits for the direct path before choosing the relay. */
  directTimeoutMs: number;
  /** STUN/TURN servers of this side (--ice-server or the config file); the relay may offer more. */
  iceServers: IceServer[];
  /** Test-only fault injection from PORTUNUS_TEST_* variables (see switchTestHooks); absent in normal use. */
  switchTest?: SwitchTestHooks;
}

/**
 * Abilities announced in the PAKE (and bound into the key): the direct paths the mode allows, always the relay;
 * switching only with auto. The PORTUNUS_TEST_DIRECT_PATHS hook (`test.directPaths`) narrows auto's direct paths.
 */
export function abilitiesFor(mode: TransportMode, test?: SwitchTestHooks): string[] {
  const direct = test?.directPaths;
  if (mode === 'auto' && direct !== undefined) {
    return [ABILITY_RELAY, ...(direct.includes('webrtc') ? [ABILITY_WEBRTC] : []), ...(direct.includes('tcp') ? [ABILITY_TCP] : []), ABILITY_SWITCH];
  }
  switch (mode) {
    case 'relay':
      return [ABILITY_RELAY];
    case 'tcp':
      return [ABILITY_RELAY, ABILITY_TCP];
    case 'webrtc':
      return [ABILITY_RELAY, ABILITY_WEBRTC];
    case 'auto':
      return [ABILITY_RELAY, ABILITY_WEBRTC, ABILITY_TCP, ABILITY_SWITCH];
  }
}
