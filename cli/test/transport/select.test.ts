/**
 * Path agreement (select.ts) with scripted connection attempts: the receiver alone decides and says so once; the
 * sender follows; both always end on the same path, whatever finishes first; a binding mismatch never falls back.
 */
import { describe, expect, it } from 'vitest';
import { createError, type PortunusError } from '../../src/protocol.js';
import { selectTransport, type SelectOptions, type TransportMode } from '../../src/transport/select.js';
import type { Transport, TransportKind } from '../../src/transport/transport.js';
import { memoryLinks } from './links.js';
import { within } from './transport-suite.js';

class FakeTransport implements Transport {
  closed = false;
  constructor(readonly kind: TransportKind) {}
  async send(): Promise<void> {}
  async *frames(): AsyncIterable<Uint8Array> {}
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A scripted direct attempt: resolves, rejects, or hangs until aborted (then rejects with the abort reason). */
type Script = { ok: true } | { fail: PortunusError } | 'hang';

function attempt(script: Script, log: { aborted: boolean; transport?: FakeTransport }) {
  return (signal: AbortSignal): Promise<Transport> =>
    new Promise<Transport>((resolve, reject) => {
      signal.addEventListener('abort', () => ((log.aborted = true), reject(signal.reason)), { once: true });
      if (script === 'hang') return;
      if ('fail' in script) return reject(script.fail);
      log.transport = new FakeTransport('webrtc');
      resolve(log.transport);
    });
}

interface Side {
  mode?: TransportMode;
  direct: Script;
  timeoutMs?: number;
}

async function agree(send: Side, receive: Side, webrtc = true) {
  const links = memoryLinks({ webrtc });
  const logs = { send: { aborted: false } as { aborted: boolean; transport?: FakeTransport }, receive: { aborted: false } as { aborted: boolean; transport?: FakeTransport } };
  const opts = (role: 'send' | 'receive', side: Side): SelectOptions => ({
    role,
    mode: side.mode ?? 'auto',
    link: links[role],
    directTimeoutMs: side.timeoutMs ?? 1000,
    openRelay: async () => new FakeTransport('relay'),
    direct: { webrtc: attempt(side.direct, logs[role]) },
  });
  const results = await within(
    Promise.allSettled([selectTransport(opts('send', send)), selectTransport(opts('receive', receive))]),
    'both sides to choose',
  );
  const kind = (r: PromiseSettledResult<Transport> | undefined) => (r?.status === 'fulfilled' ? r.value.kind : (r?.reason as PortunusError).code);
  return { send: kind(results[0]), receive: kind(results[1]), paths: links.paths, logs };
}

const fails = (code: 'DIRECT_FAILED' | 'BINDING_MISMATCH' = 'DIRECT_FAILED'): Script => ({ fail: createError(code, 'scripted') });

describe('path agreement', () => {
  it('uses the relay at once when webrtc-v1 was not agreed (no attempt, no path message)', async () => {
    const r = await agree({ direct: { ok: true } }, { direct: { ok: true } }, false);
    expect([r.send, r.receive]).toEqual(['relay', 'relay']);
    expect(r.paths).toEqual([]);
    expect(r.logs.send.transport ?? r.logs.receive.transport).toBeUndefined();
  });

  it('fails --transport webrtc when the peer offers no direct path', async () => {
    const r = await agree({ mode: 'webrtc', direct: { ok: true } }, { direct: { ok: true } }, false);
    expect([r.send, r.receive]).toEqual(['DIRECT_FAILED', 'relay']);
  });

  it('goes direct when the receiver connects, saying so once', async () => {
    const r = await agree({ direct: { ok: true } }, { direct: { ok: true } });
    expect([r.send, r.receive]).toEqual(['webrtc', 'webrtc']);
    expect(r.paths).toEqual(['webrtc']);
  });

  it('the sender waits for its own attempt when the receiver already chose it', async () => {
    // The sender's attempt is still running when "webrtc" arrives; it completes later.
    const links = memoryLinks();
    let finish!: (t: Transport) => void;
    const sender = selectTransport({
      role: 'send',
      mode: 'auto',
      link: links.send,
      directTimeoutMs: 1000,
      openRelay: async () => new FakeTransport('relay'),
      direct: { webrtc: () => new Promise<Transport>((resolve) => (finish = resolve)) },
    });
    await links.receive.sendPath('webrtc');
    const late = new FakeTransport('webrtc');
    finish(late);
    expect(await within(sender, 'the sender')).toBe(late);
  });

  it('falls back to the relay on both sides when the receiver cannot connect in time', async () => {
    const r = await agree({ direct: 'hang' }, { direct: 'hang', timeoutMs: 50 });
    expect([r.send, r.receive]).toEqual(['relay', 'relay']);
    expect(r.paths).toEqual(['relay']);
    expect(r.logs.send.aborted && r.logs.receive.aborted).toBe(true);
  });

  it('falls back when the receiver fails outright, and closes a sender attempt that connected anyway', async () => {
    const r = await agree({ direct: { ok: true } }, { direct: fails() });
    expect([r.send, r.receive]).toEqual(['relay', 'relay']);
    expect(r.logs.send.transport?.closed).toBe(true);
  });

  it('--transport webrtc on the sender: fails when the receiver chose the relay', async () => {
    const r = await agree({ mode: 'webrtc', direct: 'hang' }, { direct: fails() });
    expect([r.send, r.receive]).toEqual(['DIRECT_FAILED', 'relay']);
  });

  it('--transport webrtc on the receiver: fails instead of choosing the relay, and says no path', async () => {
    const links = memoryLinks();
    const receiver = selectTransport({
      role: 'receive',
      mode: 'webrtc',
      link: links.receive,
      directTimeoutMs: 50,
      openRelay: async () => new FakeTransport('relay'),
      direct: { webrtc: attempt('hang', { aborted: false }) },
    });
    await expect(within(receiver, 'the receiver')).rejects.toMatchObject({ code: 'DIRECT_FAILED' });
    expect(links.paths).toEqual([]);
  });

  it('never falls back on a binding mismatch, on either side', async () => {
    const links = memoryLinks();
    const receiver = selectTransport({
      role: 'receive',
      mode: 'auto',
      link: links.receive,
      directTimeoutMs: 1000,
      openRelay: async () => new FakeTransport('relay'),
      direct: { webrtc: attempt(fails('BINDING_MISMATCH'), { aborted: false }) },
    });
    await expect(within(receiver, 'the receiver')).rejects.toMatchObject({ code: 'BINDING_MISMATCH' });
    expect(links.paths).toEqual([]); // the sender learns of it through the session's sealed error
    // The sender does not wait for a choice once its own check failed.
    const sender = selectTransport({
      role: 'send',
      mode: 'auto',
      link: links.send,
      directTimeoutMs: 1000,
      openRelay: async () => new FakeTransport('relay'),
      direct: { webrtc: attempt(fails('BINDING_MISMATCH'), { aborted: false }) },
    });
    await expect(within(sender, 'the sender')).rejects.toMatchObject({ code: 'BINDING_MISMATCH' });
  });

  it('the sender does not fall back when its own attempt fails after the receiver chose the direct path', async () => {
    const r = await agree({ direct: fails() }, { direct: { ok: true } });
    expect([r.send, r.receive]).toEqual(['DIRECT_FAILED', 'webrtc']);
  });
});

describe('path agreement with direct TCP beside WebRTC', () => {
  /** Both sides with both attempts scripted; `links` says which abilities both announced. */
  async function agreeBoth(script: { tcp: Script; webrtc: Script }, links = { tcp: true, webrtc: true }, modes: { send?: TransportMode; receive?: TransportMode } = {}) {
    const pair = memoryLinks(links);
    const made: FakeTransport[] = [];
    const connector = (kind: 'tcp' | 'webrtc') => (signal: AbortSignal) =>
      new Promise<Transport>((resolve, reject) => {
        const s = script[kind];
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        if (s === 'hang') return;
        if ('fail' in s) return reject(s.fail);
        const t = new FakeTransport(kind);
        made.push(t);
        resolve(t);
      });
    const opts = (role: 'send' | 'receive'): SelectOptions => ({
      role,
      mode: modes[role] ?? 'auto',
      link: pair[role],
      directTimeoutMs: 1000,
      openRelay: async () => new FakeTransport('relay'),
      direct: { tcp: connector('tcp'), webrtc: connector('webrtc') },
    });
    const results = await within(Promise.allSettled([selectTransport(opts('send')), selectTransport(opts('receive'))]), 'both sides to choose');
    const kind = (r: PromiseSettledResult<Transport> | undefined) => (r?.status === 'fulfilled' ? r.value.kind : (r?.reason as PortunusError).code);
    return { send: kind(results[0]), receive: kind(results[1]), paths: pair.paths, made };
  }

  it('prefers tcp when both direct paths come up, and closes the WebRTC connections', async () => {
    const r = await agreeBoth({ tcp: { ok: true }, webrtc: { ok: true } });
    expect([r.send, r.receive]).toEqual(['tcp', 'tcp']);
    expect(r.paths).toEqual(['tcp']);
    await within(
      (async () => {
        while (!r.made.filter((t) => t.kind === 'webrtc').every((t) => t.closed)) await new Promise((resolve) => setImmediate(resolve));
      })(),
      'the WebRTC connections to close',
    );
    expect(r.made.filter((t) => t.kind === 'tcp').some((t) => t.closed)).toBe(false);
  });

  it('takes WebRTC when tcp fails, and the relay when both fail', async () => {
    expect(await agreeBoth({ tcp: fails(), webrtc: { ok: true } })).toMatchObject({ send: 'webrtc', receive: 'webrtc', paths: ['webrtc'] });
    expect(await agreeBoth({ tcp: fails(), webrtc: fails() })).toMatchObject({ send: 'relay', receive: 'relay', paths: ['relay'] });
  });

  it('takes WebRTC after a short grace when tcp never completes', async () => {
    expect(await agreeBoth({ tcp: 'hang', webrtc: { ok: true } })).toMatchObject({ send: 'webrtc', receive: 'webrtc', paths: ['webrtc'] });
  });

  it('tries only the paths both announced', async () => {
    expect(await agreeBoth({ tcp: { ok: true }, webrtc: { ok: true } }, { tcp: false, webrtc: true })).toMatchObject({ send: 'webrtc', paths: ['webrtc'] });
    expect(await agreeBoth({ tcp: { ok: true }, webrtc: { ok: true } }, { tcp: true, webrtc: false })).toMatchObject({ send: 'tcp', paths: ['tcp'] });
  });

  it('--transport tcp: only tcp, and DIRECT_FAILED instead of the relay', async () => {
    const only = await agreeBoth({ tcp: { ok: true }, webrtc: { ok: true } }, { tcp: true, webrtc: true }, { send: 'tcp', receive: 'tcp' });
    expect([only.send, only.receive]).toEqual(['tcp', 'tcp']);
    expect(only.made.map((t) => t.kind)).toEqual(['tcp', 'tcp']);
    const failing = await agreeBoth({ tcp: fails(), webrtc: { ok: true } }, { tcp: true, webrtc: false }, { send: 'tcp' });
    expect([failing.send, failing.receive]).toEqual(['DIRECT_FAILED', 'relay']);
    const links = memoryLinks({ tcp: true, webrtc: false });
    const receiving = selectTransport({
      role: 'receive',
      mode: 'tcp',
      link: links.receive,
      directTimeoutMs: 1000,
      openRelay: async () => new FakeTransport('relay'),
      direct: { tcp: async () => Promise.reject(createError('DIRECT_FAILED', 'scripted')) },
    });
    await expect(within(receiving, 'the receiver')).rejects.toMatchObject({ code: 'DIRECT_FAILED' });
    expect(links.paths).toEqual([]);
    const none = await agreeBoth({ tcp: { ok: true }, webrtc: { ok: true } }, { tcp: false, webrtc: false }, { send: 'tcp' });
    expect([none.send, none.receive]).toEqual(['DIRECT_FAILED', 'relay']);
  });
});
