/**
 * V8's default GC schedule costs more than it saves here: every data byte passes through a few short-lived 1 MiB
 * buffers whose external memory keeps starting marking cycles, incremental marking then runs for many steps (with
 * write barriers on) while the data flows, and on a 2-core machine the concurrent and parallel GC helpers compete
 * with the peer process and the relay. Marking all at once on the main thread is cheaper. Measured on a 1 GiB
 * transfer on loopback (alternating A/B runs): over TCP, user CPU per process 2.4 → 1.8 s without the helper threads
 * and → 1.4 s with atomic marking; through the relay, the relay itself 1.1 → 0.55 s. These three flags are safe to
 * flip at run time (unlike --single-threaded-gc, which V8 only accepts at start-up).
 *
 * They are set once a transfer's data is about to flow and it is bulk data (tuneGcForTransfer), or when the relay
 * starts, not when the process starts: flipping --no-incremental-marking costs about 9 ms of CPU at once (measured on
 * `portunus --help`, 21 alternating runs). Help, usage errors and small transfers need not pay it: without the flags
 * a 1 KiB send → receive took 372 instead of 388 ms of CPU and 224 instead of 232 ms (bench/startup.ts, 10 runs).
 */
let tuned = false;

/** A transfer of at most this many bytes ends before the flags would pay back their cost. */
export const BULK_BYTES = 16 * 1024 * 1024;

/** Tunes for a transfer of `bytes` (undefined: a stream of unknown length) when it is bulk data. */
export function tuneGcForTransfer(bytes: number | undefined): void {
  if (bytes === undefined || bytes > BULK_BYTES) tuneGcForBulkData();
}

export function tuneGcForBulkData(): void {
  if (tuned) return;
  tuned = true;
  const { setFlagsFromString } = process.getBuiltinModule('node:v8');
  setFlagsFromString('--no-concurrent-marking');
  setFlagsFromString('--no-parallel-scavenge');
  setFlagsFromString('--no-incremental-marking');
}
