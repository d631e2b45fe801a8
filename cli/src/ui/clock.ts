/** Time for the terminal output: a monotonic clock and timers, passed in so tests can drive them. */

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `tick` every `ms` until the returned function is called; never keeps the process alive by itself. */
  every(ms: number, tick: () => void): () => void;
  /** Calls `fire` once after `ms` unless the returned function is called first; never keeps the process alive. */
  after(ms: number, fire: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  every: (ms, tick) => {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
  after: (ms, fire) => {
    const timer = setTimeout(fire, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
