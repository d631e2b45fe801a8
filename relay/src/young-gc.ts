/**
 * A young-generation collection after every few MiB the relay forwards (issue 18). Every forwarded message leaves a
 * 1 MiB buffer behind (ws joins each message's reads into one), and V8 frees such buffers only when it collects: a
 * scavenge comes after some MB of JavaScript objects, which forwarding barely allocates, so the collection that
 * came was the full one V8 starts once external memory has grown by 64 MB, and the relay carried up to ~64 MB of
 * dead buffers. A scavenge of a heap that holds almost no live young objects costs well under a millisecond. The
 * relay, 512 MiB forwarded (bench:compare, 3 alternating runs): peak RSS 114-136 -> 100-106 MB, CPU 1.74-1.80 ->
 * 1.66-1.82 s/GiB. Not in the CLI's sender (node:crypto's update() output is its dead buffer per frame): there the
 * freed memory went back to the kernel and was faulted in again, ~0.3 system CPU-s per GiB (tcp path, both ends
 * 4.88 -> 5.32 CPU-s/GiB) for 25-35 MB less peak RSS.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Data between two collections: a few frames, so what the last few left behind goes. */
export const YOUNG_GC_EVERY_BYTES = 8 * 1024 * 1024;

type Gc = (options: { type: 'minor'; execution: 'sync' }) => void;
let gc: Gc | undefined;

/**
 * V8 hands out its `gc` function only to contexts made while --expose-gc is on; the flag goes off again at once, so
 * no other context (and not the main one) gets a `gc` global.
 */
function minorGc(): Gc {
  if (gc !== undefined) return gc;
  setFlagsFromString('--expose-gc');
  try {
    gc = runInNewContext('gc') as Gc;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return gc;
}

/** Counts data bytes moved; each YOUNG_GC_EVERY_BYTES starts one scavenge. */
export class YoungGc {
  private since = 0;

  moved(bytes: number): void {
    this.since += bytes;
    if (this.since < YOUNG_GC_EVERY_BYTES) return;
    this.since = 0;
    minorGc()({ type: 'minor', execution: 'sync' });
  }
}
