/**
 * The leak check of page-gaps.test.ts is only as good as its reader: real clients (ws, node:http) send through the
 * recording proxy, and the code is found in every spelling and frame size it could take; bytes without it find
 * nothing.
 */
import { get } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { TcpProxy } from '../../../cli/test/e2e/faults.js';
import { findSpellings, readableBytes, spellings } from './client-bytes.js';

const CODE = '7-H7K-29A';

describe('client-bytes: what a client sent, readable', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A WebSocket server (which also answers plain HTTP) behind a recording proxy. */
  async function recordedServer(): Promise<TcpProxy> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    wss.on('connection', (socket) => socket.on('message', () => undefined));
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const proxy = await TcpProxy.start((wss.address() as { port: number }).port, { record: true });
    cleanups.push(() => proxy.close());
    return proxy;
  }

  /** Opens a WebSocket through `proxy`, sends `messages`, and closes it once the server has them all. */
  async function sendOver(proxy: TcpProxy, messages: (string | Buffer)[]): Promise<void> {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/v1`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    for (const message of messages) ws.send(message);
    await new Promise<void>((resolve) => (ws.once('close', () => resolve()), ws.close()));
  }

  it('spells a text its way in base64 at each byte alignment, in both alphabets', () => {
    const { plain, encoded } = spellings('H7K29A');
    expect(plain).toBe('h7k29a');
    for (const align of ['', 'x', 'xy']) {
      for (const surround of ['\0', '\xff', 'q']) {
        const value = Buffer.from(`${align}H7K29A${surround}`, 'latin1');
        const base64 = value.toString('base64');
        const base64url = value.toString('base64url');
        expect(encoded.some((e) => base64.includes(e))).toBe(true);
        expect(encoded.some((e) => base64url.includes(e))).toBe(true);
      }
    }
  });

  it('finds the code in masked WebSocket frames of every length form, as text, base64 and base64url', async () => {
    const proxy = await recordedServer();
    const long = Buffer.alloc(70_000, 0x2e);
    long.write(Buffer.from(`z${CODE}`).toString('base64url'), 66_000);
    await sendOver(proxy, [
      `{"type":"msg","body":"${CODE.toLowerCase()}"}`,
      Buffer.from(Buffer.from(`..${CODE}`).toString('base64')),
      Buffer.concat([Buffer.alloc(300, 0x2e), Buffer.from(`:${CODE.slice(2)}`)]),
      long,
    ]);
    expect(proxy.sent).toHaveLength(1);
    const raw = Buffer.concat(proxy.sent[0]!);
    // Masked, the raw bytes show nothing: the reader has to unmask them.
    expect(findSpellings(raw, [CODE])).toEqual([]);
    const found = findSpellings(readableBytes(raw), [CODE, 'H7K-29A']);
    expect(found.filter((f) => f.startsWith(`${CODE} as text`))).toHaveLength(1);
    expect(found.filter((f) => f.startsWith('H7K-29A as text'))).toHaveLength(1);
    expect(found.filter((f) => f.startsWith(`${CODE} in base64`)).length).toBeGreaterThanOrEqual(2);
  });

  it('finds the code in a plain HTTP request, and nothing in requests and frames without it', async () => {
    const proxy = await recordedServer();
    await new Promise<void>((resolve, reject) =>
      get(`http://127.0.0.1:${proxy.port}/?c=${CODE}`, (res) => (res.resume(), res.on('end', resolve))).on(
        'error',
        reject,
      ),
    );
    await sendOver(proxy, ['{"type":"claim","nameplate":7}', Buffer.alloc(200_000, 0x41)]);
    const [request, socket] = proxy.sent.map((chunks) => readableBytes(Buffer.concat(chunks)));
    expect(findSpellings(request!, [CODE])).toEqual([`${CODE} as text`]);
    expect(socket!.includes('{"type":"claim","nameplate":7}')).toBe(true);
    expect(findSpellings(socket!, [CODE, 'H7K29A'])).toEqual([]);
  });
});
