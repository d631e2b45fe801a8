/** One-line descriptions of offers for people. Every name is sanitized: it comes from the network on the receiver. */
import type { Offer } from '@portunus/protocol';
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
    case 'stream':
      return `a stream '${sanitizeForTerminal(offer.name)}' (size not known in advance)`;
    case 'text':
      return `a text message (${[...offer.text].length} characters)`;
  }
}

/** The offer as a JSON event (names sanitized too: scripts print them). */
export function offerEvent(offer: Offer) {
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
    case 'stream':
      return { event: 'offer' as const, kind: offer.kind, name: sanitizeForTerminal(offer.name) };
    case 'text':
      return { event: 'offer' as const, kind: offer.kind, size: new TextEncoder().encode(offer.text).length };
  }
}
