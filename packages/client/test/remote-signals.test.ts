/**
 * feedRemoteSignals: the peer's candidates reach the WebRTC stack without waiting on each other (a stack may hold
 * one for seconds, as werift does with an mDNS name nobody answers), and `end` only once those before it are in.
 * Every step waits on the pump asking for its next signal, never on time.
 */
import { describe, expect, it } from 'vitest';
import type { Signal } from '@portunus/protocol';
import { feedRemoteSignals, type RemoteSignalTarget, type SignalLink } from '@portunus/client';

const candidate = (n: number): Signal => ({
  kind: 'candidate',
  candidate: `candidate:${n} 1 udp 2113937151 host-${n}.local 5000 typ host`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});

/** A link fed by the test; `asked()` resolves once the pump has taken everything given and waits for more. */
class TestLink implements SignalLink {
  private readonly queue: Signal[] = [];
  private waiting: ((s: Signal) => void) | undefined;
  private idle: (() => void) | undefined;

  give(...signals: Signal[]): void {
    this.queue.push(...signals);
    this.flush();
  }

  asked(): Promise<void> {
    return new Promise((resolve) => {
      this.idle = resolve;
      this.flush();
    });
  }

  sendSignal(): Promise<void> {
    return Promise.resolve();
  }

  nextSignal(abort?: AbortSignal): Promise<Signal> {
    return new Promise((resolve, reject) => {
      abort?.addEventListener('abort', () => reject(abort.reason), { once: true });
      this.waiting = resolve;
      this.flush();
    });
  }

  private flush(): void {
    const next = this.waiting;
    if (next !== undefined && this.queue.length > 0) {
      this.waiting = undefined;
      next(this.queue.shift()!);
    } else if (next !== undefined && this.idle !== undefined) {
      this.idle();
      this.idle = undefined;
    }
  }
}

/** A stack that holds each candidate until the test settles it, and records what it was given, in order. */
class HeldTarget implements RemoteSignalTarget {
  readonly given: string[] = [];
  readonly settle = new Map<string, { ok: () => void; fail: (err: Error) => void }>();
  private readonly awaited = new Map<string, () => void>();

  /** Resolves once the stack is given `name`. */
  receives(name: string): Promise<void> {
    return new Promise((resolve) => this.awaited.set(name, resolve));
  }

  setRemoteDescription(): Promise<void> {
    this.given.push('answer');
    return Promise.resolve();
  }

  addIceCandidate(c?: { candidate: string }): Promise<void> {
    const name = c === undefined ? 'end' : c.candidate.split(' ')[4]!;
    this.given.push(name);
    this.awaited.get(name)?.();
    return new Promise((ok, fail) => this.settle.set(name, { ok, fail }));
  }
}

async function pump(role: 'send' | 'receive') {
  const link = new TestLink();
  const target = new HeldTarget();
  const abort = new AbortController();
  const debug: string[] = [];
  const running = feedRemoteSignals(target, { role, link, debug: (m) => debug.push(m) }, abort.signal);
  running.catch(() => undefined);
  return { link, target, abort, debug, running };
}

describe('feedRemoteSignals', () => {
  it('hands the next candidate over while the stack still holds one', async () => {
    const { link, target, abort } = await pump('receive');
    link.give(candidate(1), candidate(2), candidate(3));
    await link.asked();
    expect(target.given).toEqual(['host-1.local', 'host-2.local', 'host-3.local']);
    abort.abort();
  });

  it('passes end only once every candidate before it is in, whether the stack took or refused it', async () => {
    const { link, target, abort, debug } = await pump('send');
    link.give({ kind: 'answer', sdp: 'v=0' }, candidate(1), candidate(2), { kind: 'end' });
    await link.asked();
    expect(target.given).toEqual(['answer', 'host-1.local', 'host-2.local']);
    target.settle.get('host-2.local')!.ok();
    await link.asked();
    expect(target.given).not.toContain('end');
    const ended = target.receives('end');
    target.settle.get('host-1.local')!.fail(new Error('No mDNS response'));
    await ended;
    expect(target.given).toEqual(['answer', 'host-1.local', 'host-2.local', 'end']);
    expect(debug).toEqual(['candidate ignored: Error: No mDNS response']);
    abort.abort();
  });

  it('refuses a candidate before the answer, and an answer to the answering side', async () => {
    const early = await pump('send');
    early.link.give(candidate(1));
    await expect(early.running).rejects.toMatchObject({ code: 'PROTOCOL' });
    const answering = await pump('receive');
    answering.link.give({ kind: 'answer', sdp: 'v=0' });
    await expect(answering.running).rejects.toMatchObject({ code: 'PROTOCOL' });
    expect([...early.target.given, ...answering.target.given]).toEqual([]);
  });

  it('stops with the abort reason, and passes no end after it', async () => {
    const { link, target, abort, running } = await pump('receive');
    link.give(candidate(1), { kind: 'end' });
    await link.asked();
    abort.abort(new Error('attempt over'));
    await expect(running).rejects.toThrow('attempt over');
    target.settle.get('host-1.local')!.ok();
    await Promise.resolve();
    expect(target.given).toEqual(['host-1.local']);
  });
});
