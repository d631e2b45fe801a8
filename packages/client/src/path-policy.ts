/**
 * Which data paths a transfer may use (PROTOCOL.md §6): each side announces one ability per path it allows
 * (--transport in the CLI), bound into the key exchange; the paths both announced are the ones that may carry data.
 */
import {
  ABILITY_RELAY,
  ABILITY_TCP,
  ABILITY_WEBRTC,
  createError,
  type PathKind,
  type PortunusError,
} from '@portunus/protocol';

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
