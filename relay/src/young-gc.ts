/**
 * A young-generation collection after every few MiB of data moved (issue 18), in the relay and in the CLI's data
 * plane. Every data frame leaves a 1 MiB buffer behind (the WebSocket message the relay forwarded, the output of
 * node:crypto's update(), which cannot write into a caller's buffer), and V8 frees such buffers only when it
 * collects: a scavenge comes after some MB of JavaScript objects, which the data path barely allocates, so the
 * collection that came was the full one V8 starts once external memory has grown by 64 MB. Each process therefore
 * carried up to ~64 MB of dead buffers. A scavenge of a heap that holds almost no live young objects costs well
 * under a millisecond, and frees them while they are a few MiB. Measured, 1 GiB of AES-GCM update() in one
 * process: peak RSS 85 MB -> 65 MB with a scavenge every 8 MiB, CPU unchanged (0.43 -> 0.40 s). The relay, 512 MiB
 * forwarded (bench:compare, 3 alternating runs): peak RSS 114-136 -> 100-106 MB, CPU 1.74-1.80 -> 1.66-1.82 s/GiB.
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
