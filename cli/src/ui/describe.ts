/** One-line descriptions of offers for people. Every name is sanitized: it comes from the network on the receiver. */
import type { BundleEntry, Offer } from '@portunus/protocol';
import { sanitizeForTerminal } from '../files/sanitize.js';
import { formatBytes } from './format.js';

export function describeOffer(offer: Offer): string {
  switch (offer.kind) {
    case 'file':
      return `file '${sanitizeForTerminal(offer.name)}' (${formatBytes(offer.size)})`;
    case 'folder': {
      // Two sizes, each named: what the files hold, and the tar stream that carries them (what the bar counts).
      const files = `${offer.files} file${offer.files === 1 ? '' : 's'}`;
      return `folder '${sanitizeForTerminal(offer.name)}' (${files}, ${formatBytes(offer.bytes)}, sent as a ${formatBytes(offer.size)} tar stream)`;
    }
    case 'bundle': {
      const files = `${offer.files} file${offer.files === 1 ? '' : 's'}`;
      return `${offer.entries.length} entries: ${firstNames(offer.entries)} (${files}, ${formatBytes(offer.bytes)}, sent as a ${formatBytes(offer.size)} tar stream)`;
    }
    case 'stream':
      return `a stream '${sanitizeForTerminal(offer.name)}' (size not known in advance)`;
    case 'text':
      return `a text message (${[...offer.text].length} characters)`;
  }
}

/** Names shown in a bundle's summary; the rest are counted. */
const SHOWN_NAMES = 3;

/** `'a.txt', 'photos/' and 2 more`: folders end in '/'. */
function firstNames(entries: readonly BundleEntry[]): string {
  const shown = entries
    .slice(0, SHOWN_NAMES)
    .map((e) => `'${sanitizeForTerminal(e.name)}${e.type === 'folder' ? '/' : ''}'`)
    .join(', ');
  const more = entries.length - SHOWN_NAMES;
  return more > 0 ? `${shown} and ${more} more` : shown;
}

/** The offer as a JSON event (names sanitized too: scripts print them). */
/** The `offer` event; `held`: bytes of it an interrupted receive left here, which a resume would reuse. */
export function offerEvent(offer: Offer, held = 0) {
  const event = offerFields(offer);
  return held > 0 ? { ...event, held } : event;
}

function offerFields(offer: Offer) {
  switch (offer.kind) {
    case 'file':
      return { event: 'offer' as const, kind: offer.kind, name: sanitizeForTerminal(offer.name), size: offer.size };
    case 'folder':
      return {
        event: 'offer' as const,
        kind: offer.kind,
        name: sanitizeForTerminal(offer.name),
        size: offer.size,
        files: offer.files,
        fileBytes: offer.bytes,
      };
    case 'bundle':
      return {
        event: 'offer' as const,
        kind: offer.kind,
        entries: offer.entries.map((e) => ({ name: sanitizeForTerminal(e.name), type: e.type })),
        size: offer.size,
        files: offer.files,
        fileBytes: offer.bytes,
      };
    case 'stream':
      return { event: 'offer' as const, kind: offer.kind, name: sanitizeForTerminal(offer.name) };
    case 'text':
      return { event: 'offer' as const, kind: offer.kind, size: new TextEncoder().encode(offer.text).length };
  }
}
