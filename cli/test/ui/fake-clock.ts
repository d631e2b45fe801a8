/** A clock for Reporter tests: time moves only when the test says so, and timers fire as it passes. */
import type { Writable } from 'node:stream';
import type { Clock } from '../../src/ui/clock.js';

interface Timer {
  /** Repeats every `ms`; 0: fires once. */
  ms: number;
  next: number;
  tick: () => void;
  live: boolean;
}

export interface FakeClock extends Clock {
  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void;
}

export function fakeClock(): FakeClock {
  let t = 0;
  const timers: Timer[] = [];
  return {
    now: () => t,
    every(ms, tick) {
      const timer = { ms, next: t + ms, tick, live: true };
      timers.push(timer);
      return () => void (timer.live = false);
    },
    after(ms, fire) {
      const timer = { ms: 0, next: t + ms, tick: fire, live: true };
      timers.push(timer);
      return () => void (timer.live = false);
    },
    advance(ms) {
      const end = t + ms;
      for (;;) {
        const due = timers.filter((x) => x.live && x.next <= end).sort((a, b) => a.next - b.next)[0];
        if (due === undefined) break;
        t = due.next;
        if (due.ms === 0) due.live = false;
        else due.next += due.ms;
        due.tick();
      }
      t = end;
    },
  };
}

/** A stream that keeps what is written: a log file or a CI job's output, or (isTTY) a terminal. */
export function captured(isTTY = false): {
  stream: Writable & { isTTY?: boolean };
  text: () => string;
  lines: () => string[];
} {
  const chunks: string[] = [];
  const stream = { isTTY, write: (chunk: string) => (chunks.push(chunk), true) } as unknown as Writable & {
    isTTY?: boolean;
  };
  const text = () => chunks.join('');
  return {
    stream,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l !== ''),
  };
}
