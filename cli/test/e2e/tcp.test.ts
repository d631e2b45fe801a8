/**
 * The direct TCP path end to end: real `portunus send` / `receive` processes on one machine meeting through a real
 * relay process, then a decoy sender (the real protocol, run by hand) whose hints lead nowhere and whose own TCP
 * connection to the receiver carries a wrong binding MAC: the receiver must refuse it and fall back to the relay.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeAead } from '@portunus/protocol/node';
import { formatCode, generateSecret, secureRandomBytes, TCP_NONCE_BYTES, type TcpHint } from '@portunus/protocol';
import { connectRelay } from '../../src/relay-client/client.js';
import { type DataContext, driveSession, tcpHints } from '@portunus/client';
import { exitOf, runPortunus, TRANSFER_MS, useRelayWorld, type Proc, transferFile } from './harness.js';
import { streamOverRelay } from './relay-stream.js';

const world = useRelayWorld({ beforeAll, afterAll });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const event = (p: Proc, name: string) => p.events().find((e) => e.event === name);
const transfer = (sendArgs: string[], receiveArgs: string[], content = randomBytes(5 * 1000 * 1000 + 17)) =>
  transferFile(world, sendArgs, receiveArgs, content);

describe('direct TCP path end to end', () => {
  it('--transport tcp on both sides: the data goes over TCP, intact, and both processes exit', async () => {
    const t = await transfer(['--transport', 'tcp'], ['--transport', 'tcp']);
    expect([t.sc, t.rc]).toEqual([0, 0]);
    expect(sha256(t.received!)).toBe(sha256(t.content));
    for (const p of [t.sender, t.receiver]) {
      expect(event(p, 'connected')).toEqual({ event: 'connected', transport: 'tcp' });
      expect(event(p, 'done')).toMatchObject({ transport: 'tcp', sha256: sha256(t.content), bytes: t.content.length });
    }
  });

  it('--transport auto (the default) against a peer on --transport tcp goes over TCP only', async () => {
    const t = await transfer([], ['--transport', 'tcp']);
    expect([t.sc, t.rc], t.sender.stdout() + t.receiver.stdout()).toEqual([0, 0]);
    expect(sha256(t.received!)).toBe(sha256(t.content));
    for (const p of [t.sender, t.receiver]) expect(event(p, 'done')).toMatchObject({ transport: 'tcp' });
  });

  it('--transport tcp against a WebRTC-only peer: no common path, refused before any data (exit 7), nothing kept', async () => {
    const t = await transfer(['--transport', 'tcp'], ['--transport', 'webrtc']);
    expect([t.sc, t.rc]).toEqual([7, 7]);
    expect(event(t.receiver, 'error')).toMatchObject({ error: 'DIRECT_FAILED', exit: 7 });
    expect(String(event(t.receiver, 'error')?.message)).toMatch(
      /no data path both sides allow \(this side: webrtc; the other: tcp\)/,
    );
    expect(event(t.sender, 'error')).toMatchObject({ error: 'PEER_FAILED', exit: 7 });
    expect(t.received).toBeUndefined();
  });

  it('--transport tcp against a relay-only peer: the same refusal', async () => {
    const t = await transfer(['--transport', 'tcp'], ['--transport', 'relay']);
    expect([t.sc, t.rc]).toEqual([7, 7]);
    expect(event(t.receiver, 'error')).toMatchObject({ error: 'DIRECT_FAILED', exit: 7 });
    expect(event(t.sender, 'error')).toMatchObject({ error: 'PEER_FAILED', exit: 7 });
    expect(t.received).toBeUndefined();
  });
});

/** A port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Connects to `hint`, answers the receiver's nonce with a MAC under no key, and counts what it gets until closed. */
function badBinding(hint: TcpHint): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const socket = connect({ host: hint.host, port: hint.port });
    let got = 0;
    socket.on('connect', () => socket.write(randomBytes(TCP_NONCE_BYTES)));
    socket.on('data', (chunk: Buffer) => {
      const before = got;
      got += chunk.length;
      if (before < TCP_NONCE_BYTES && got >= TCP_NONCE_BYTES) socket.write(randomBytes(32));
    });
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

/**
 * A sender that announces tcp-v1, sends a hint to a closed port, connects to the receiver with a wrong MAC, never
 * completes a TCP connection, and sends the data over the relay meanwhile.
 */
async function decoySend(data: Buffer, onCode: (code: string) => void) {
  const client = await connectRelay({ url: world.relay.url, agent: 'decoy/1.0' });
  const seen: { refusedAfter?: number } = {};
  const decoyTcp = async (ctx: DataContext): Promise<void> => {
    const exchange = tcpHints(ctx.link);
    await exchange.sendHints([{ host: '127.0.0.1', port: await closedPort() }]);
    const hints = await exchange.peerHints(ctx.signal);
    seen.refusedAfter = await badBinding(hints.find((h) => h.host === '127.0.0.1')!);
  };
  try {
    const nameplate = await client.allocate();
    const code = { nameplate, secret: generateSecret(secureRandomBytes) };
    onCode(formatCode(code));
    const result = await driveSession(client, {
      relayName: client.relayName,
      waitMs: 60_000,
      stallMs: 60_000,
      config: {
        role: 'send',
        code,
        abilities: ['relay-v1', 'tcp-v1'],
        offer: { kind: 'file', name: 'data.bin', size: data.length },
        aead: nodeAead,
        random: secureRandomBytes,
      },
      hooks: {
        sendData: async (ctx) => {
          await decoyTcp(ctx);
          return streamOverRelay(client, ctx, data);
        },
      },
    }).catch((err: unknown) => err);
    return { result, seen };
  } finally {
    await client.close();
  }
}

describe('direct TCP path against a peer it cannot reach', () => {
  it('refuses a connection with a wrong binding, gives up on unreachable hints, and the data goes on the relay', async () => {
    const dir = join(world.tmp, 'decoy');
    await mkdir(join(dir, 'dst'), { recursive: true });
    const content = randomBytes(200_000);
    let sending!: ReturnType<typeof decoySend>;
    const code = await new Promise<string>((resolve) => (sending = decoySend(content, resolve)));
    // The receiver falls back only once its --direct-timeout is over, so it must outlast the decoy's connection (tens
    // of ms here, ~1 s on a loaded machine), which the assertions below need to have been refused.
    const receiver = runPortunus(
      ['receive', '--json', '--yes', '--relay', world.relay.url, '--direct-timeout', '5', code],
      { cwd: join(dir, 'dst') },
    );
    expect(await exitOf(receiver, TRANSFER_MS)).toBe(0);
    const { result, seen } = await sending;
    expect(result).toMatchObject({ bytes: content.length, sha256: sha256(content) });
    expect(seen.refusedAfter).toBe(TCP_NONCE_BYTES + 32); // its nonce and MAC, then closed: no choice byte, no frame
    expect(event(receiver, 'done')).toMatchObject({ transport: 'relay', sha256: sha256(content) });
    expect(sha256(await readFile(join(dir, 'dst', 'data.bin')))).toBe(sha256(content));
  });
});
