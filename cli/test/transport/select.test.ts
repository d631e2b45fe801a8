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
    connectDirect: attempt(side.direct, logs[role]),
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
      connectDirect: () => new Promise<Transport>((resolve) => (finish = resolve)),
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
      connectDirect: attempt('hang', { aborted: false }),
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
      connectDirect: attempt(fails('BINDING_MISMATCH'), { aborted: false }),
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
      connectDirect: attempt(fails('BINDING_MISMATCH'), { aborted: false }),
    });
    await expect(within(sender, 'the sender')).rejects.toMatchObject({ code: 'BINDING_MISMATCH' });
  });

  it('the sender does not fall back when its own attempt fails after the receiver chose the direct path', async () => {
    const r = await agree({ direct: fails() }, { direct: { ok: true } });
    expect([r.send, r.receive]).toEqual(['DIRECT_FAILED', 'webrtc']);
  });
});
