/** How sizes, speeds and offers read on the page (the CLI's wording, ui/describe.ts, in the page's few words). */
import type { Offer } from '@portunus/protocol';

const UNITS = ['bytes', 'kB', 'MB', 'GB', 'TB'];

/** 1234567 -> "1.2 MB" (decimal units, as file managers show them). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
}

export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** What is offered, in one line: the name and size, or what kind of thing it is. */
export function describeOffer(offer: Offer): { name: string; detail: string } {
  switch (offer.kind) {
    case 'file':
      return { name: offer.name, detail: `a file, ${formatBytes(offer.size)}` };
    case 'folder': {
      const files = `${offer.files} ${offer.files === 1 ? 'file' : 'files'}`;
      return { name: offer.name, detail: `a folder, ${files}, ${formatBytes(offer.bytes)}` };
    }
    case 'bundle': {
      const files = `${offer.files} ${offer.files === 1 ? 'file' : 'files'}`;
      const shown = offer.entries.slice(0, 3).map((e) => (e.type === 'folder' ? `${e.name}/` : e.name));
      const more = offer.entries.length > 3 ? ` and ${offer.entries.length - 3} more` : '';
      return {
        name: `${shown.join(', ')}${more}`,
        detail: `${offer.entries.length} entries, ${files}, ${formatBytes(offer.bytes)}`,
      };
    }
    case 'stream':
      return { name: offer.name, detail: 'a stream of unknown length' };
    case 'text':
      return { name: 'A text message', detail: `${formatBytes(new TextEncoder().encode(offer.text).length)}` };
  }
}

/** How long a drop is kept, as the sender's page shows it: `until` its expiry (Unix seconds) or its downloads. */
export function describeDropKept(expiresAt: number, downloads: number): string {
  const times = downloads === 1 ? 'one download' : `${downloads} downloads`;
  return `Kept on the relay until ${new Date(expiresAt * 1000).toLocaleString()} or for ${times}, whichever ends first.`;
}

/**
 * What the relay said of a drop with its download, for the receiver's offer view. The download took one of its
 * slots already (the offer is inside the stored bytes), so declining does not give it back.
 */
export function describeDropLeft(drop: { downloadsLeft?: number; expires?: number }): string {
  const left = drop.downloadsLeft;
  if (left === 0) return 'Stored on the relay: this is its last download, so it is deleted even if you decline.';
  const until = drop.expires === undefined ? '' : ` until ${new Date(drop.expires * 1000).toLocaleString()}`;
  if (left === undefined) return `Stored on the relay${until}.`;
  return `Stored on the relay${until}: ${left} more ${left === 1 ? 'download' : 'downloads'} after this one.`;
}
