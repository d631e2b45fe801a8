/** What every transfer needs from its surroundings, passed in (no module globals): relay, UI, clock, randomness. */
import type { RandomBytes } from '../protocol.js';
import type { Reporter } from '../ui/reporter.js';
import type { PromptIo } from '../ui/prompt.js';

export interface TransferContext {
  relayUrl: string;
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
}

export const ABILITIES = ['relay-v1'] as const;
