/**
 * The direct path end to end: real `portunus send` / `receive` processes on one machine (loopback host
 * candidates) meeting through a real relay process. Each transfer checks the path both sides report, the
 * received SHA-256, and that both processes exit by themselves (a WebRTC stack left running would hang them).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exitOf,
  runPortunus,
  startRelayProcess,
  TRANSFER_MS,
  useRelayWorld,
  type Proc,
  transferFile,
} from './harness.js';

const world = useRelayWorld({ beforeAll, afterAll });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const transfer = (sendArgs: string[], receiveArgs: string[], content = randomBytes(3 * 1000 * 1000 + 17)) =>
  transferFile(world, sendArgs, receiveArgs, content);

const event = (p: Proc, name: string) => p.events().find((e) => e.event === name);
/**
 * For the cases that must go direct: with --transport webrtc there is no fallback, so --direct-timeout only bounds a
 * failure. Its 5 s default is a few connection times on a busy machine; this one is under TRANSFER_MS.
 */
const DIRECT_TIMEOUT = ['--direct-timeout', String(TRANSFER_MS / 1000 - 30)];
const WEBRTC = ['--transport', 'webrtc', ...DIRECT_TIMEOUT];

describe('direct path (WebRTC) end to end', () => {
  it('--transport webrtc on both sides: the data goes direct, intact, and both processes exit', async () => {
    const t = await transfer(WEBRTC, WEBRTC);
    expect([t.sc, t.rc]).toEqual([0, 0]);
    expect(sha256(t.received!)).toBe(sha256(t.content));
    for (const p of [t.sender, t.receiver]) {
      expect(event(p, 'connected')).toEqual({ event: 'connected', transport: 'webrtc' });
      expect(event(p, 'done')).toMatchObject({
        transport: 'webrtc',
        sha256: sha256(t.content),
        bytes: t.content.length,
      });
    }
  });

  it('--transport auto (the default) goes direct over WebRTC when that is the direct path the peer offers', async () => {
    // With auto on both sides TCP is preferred (tcp.test.ts); a peer limited to WebRTC leaves only this one.
    const t = await transfer(DIRECT_TIMEOUT, WEBRTC);
    expect([t.sc, t.rc]).toEqual([0, 0]);
    expect(event(t.receiver, 'done')).toMatchObject({ transport: 'webrtc', sha256: sha256(t.content) });
    expect(event(t.sender, 'done')).toMatchObject({ transport: 'webrtc' });
  });

  it('auto falls back to the relay when the direct path is not up within --direct-timeout', async () => {
    const t = await transfer([], ['--direct-timeout', '0.001']);
    expect([t.sc, t.rc]).toEqual([0, 0]);
    expect(sha256(t.received!)).toBe(sha256(t.content));
    for (const p of [t.sender, t.receiver]) expect(event(p, 'done')).toMatchObject({ transport: 'relay' });
  });

  it('--transport relay on either side keeps the data on the relay', async () => {
    for (const [s, r] of [
      [['--transport', 'relay'], []],
      [[], ['--transport', 'relay']],
    ] as const) {
      const t = await transfer([...s], [...r]);
      expect([t.sc, t.rc]).toEqual([0, 0]);
      for (const p of [t.sender, t.receiver])
        expect(event(p, 'connected')).toEqual({ event: 'connected', transport: 'relay' });
    }
  });

  it('--transport webrtc against a relay-only peer fails with exit 7 on both sides, and nothing is kept', async () => {
    const t = await transfer(['--transport', 'webrtc'], ['--transport', 'relay']);
    expect([t.sc, t.rc]).toEqual([7, 7]);
    // The receiver refuses before any data: the two policies share no path.
    expect(event(t.receiver, 'error')).toMatchObject({ error: 'DIRECT_FAILED', exit: 7 });
    expect(event(t.sender, 'error')).toMatchObject({ error: 'PEER_FAILED', exit: 7 });
    expect(t.received).toBeUndefined();
  });

  it('sends an empty file over the direct path too', async () => {
    const empty = await transfer(WEBRTC, WEBRTC, Buffer.alloc(0));
    expect([empty.sc, empty.rc]).toEqual([0, 0]);
    expect(event(empty.receiver, 'done')).toMatchObject({ bytes: 0, transport: 'webrtc' });
  });

  it('refuses a malformed --ice-server with a usage error before contacting anyone', async () => {
    const p = runPortunus([
      'send',
      '--json',
      '--relay',
      world.relay.url,
      '--ice-server',
      'http://stun.example.org',
      '--text',
      'hi',
    ]);
    expect(await exitOf(p)).toBe(2);
    expect(event(p, 'error')).toMatchObject({ error: 'USAGE' });
    expect(event(p, 'code')).toBeUndefined();
  });
});

describe('ICE servers offered by the relay', () => {
  it('are used by both sides (a STUN server the relay names gets their binding requests)', async () => {
    const stun = createSocket('udp4');
    const from = new Set<string>();
    stun.on('message', (msg, rinfo) => {
      // RFC 8489: type 0x0001 (Binding request), magic cookie 0x2112A442. The answer matters: werift waits up to 5 s
      // for every STUN server before it starts its connectivity checks.
      if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0001 || msg.readUInt32BE(4) !== 0x2112a442) return;
      from.add(`${rinfo.address}:${rinfo.port}`);
      stun.send(bindingSuccess(msg.subarray(8, 20), rinfo.address, rinfo.port), rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => stun.bind(0, '127.0.0.1', resolve));
    const relay = await startRelayProcess(['--stun', `stun:127.0.0.1:${stun.address().port}`]);
    try {
      const dir = join(world.tmp, 'advertised');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'data.bin'), randomBytes(1000));
      const env = { PORTUNUS_CODE: '9-H7K-29A' };
      const common = ['--json', '--relay', relay.url, ...WEBRTC];
      const sender = runPortunus(['send', ...common, 'data.bin'], { cwd: dir, env });
      await sender.waitEvent('code');
      const receiver = runPortunus(['receive', ...common, '--yes', '-o', 'got.bin'], { cwd: dir, env });
      expect(await Promise.all([exitOf(sender, TRANSFER_MS), exitOf(receiver, TRANSFER_MS)])).toEqual([0, 0]);
      expect(from.size).toBeGreaterThanOrEqual(2); // at least one gathering socket on each side asked
    } finally {
      stun.close();
      await relay.stop();
    }
  });
});

/** A STUN Binding success response (RFC 8489 §5, §14.2) with the XOR-MAPPED-ADDRESS of an IPv4 client. */
function bindingSuccess(transactionId: Buffer, address: string, port: number): Buffer {
  const attr = Buffer.alloc(12);
  attr.writeUInt16BE(0x0020, 0); // XOR-MAPPED-ADDRESS
  attr.writeUInt16BE(8, 2);
  attr.writeUInt16BE(0x01, 4); // IPv4
  attr.writeUInt16BE(port ^ 0x2112, 6);
  attr.writeUInt32BE((address.split('.').reduce((n, o) => n * 256 + Number(o), 0) ^ 0x2112a442) >>> 0, 8);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0101, 0);
  header.writeUInt16BE(attr.length, 2);
  header.writeUInt32BE(0x2112a442, 4);
  transactionId.copy(header, 8);
  return Buffer.concat([header, attr]);
}
