/**
 * The receive flow's saver (receive-flow.ts ReceiveSaver) over h-archive's savers (save/): what the browser can
 * save to is picked once (pick-saver.ts); an offer memory could not hold is refused before anyone is asked, and the
 * sink (a folder's tar turned into a zip on the way) opens right after Accept, as a save dialog requires.
 */
import type { Offer, PortunusError } from '@portunus/protocol';
import type { Sink } from '@portunus/client';
import { MemorySaver, tooBigForMemory } from './save/memory-saver.js';
import { openOfferSink, zipName } from './save/offer-sink.js';
import type { Saver } from './save/saver.js';
import type { ReceiveSaver } from './receive-flow.js';

export function offerSaver(saver: Saver): ReceiveSaver {
  return {
    kind: saver.kind,
    refuse: (offer: Offer): PortunusError | undefined => {
      if (!(saver instanceof MemorySaver)) return undefined;
      const atLeast =
        offer.kind === 'file' ? offer.size : offer.kind === 'folder' || offer.kind === 'bundle' ? offer.bytes : 0;
      return atLeast > saver.limit ? tooBigForMemory(atLeast, saver.limit) : undefined;
    },
    open: (offer: Offer): Promise<Sink> => openOfferSink(saver, offer),
  };
}

/** The name a received offer is saved under (a folder or a bundle arrives as one zip). */
export function savedName(offer: Offer): string {
  if (offer.kind === 'folder' || offer.kind === 'bundle') return zipName(offer);
  return offer.kind === 'text' ? '' : offer.name;
}
