/**
 * Claim-and-leave (issue 12 §2): someone claims a waiting sender's nameplate and leaves before the key exchange
 * completed, right after `paired` or after sending a share of its own. The relay puts the room back to waiting
 * (`unpaired`), the real `portunus send` process keeps its code and waits on, and the real receiver that comes next
 * gets the file. On 8ecf126 the sender exited 7 at the first such claim.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ristretto255 } from '@noble/curves/ed25519.js';
import WebSocket from 'ws';
import { exitOf, runPortunus, useRelayWorld, type Proc } from './harness.js';

const world = useRelayWorld({ beforeAll, afterAll });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A client that claims `nameplate`, waits for `paired`, optionally sends a (meaningless) share, and leaves. */
async function claimAndLeave(nameplate: number, sendShare: boolean): Promise<void> {
  const ws = new WebSocket(world.relay.url);
  const replies: Record<string, unknown>[] = [];
  const next = (type: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = replies.find((m) => m.type === type);
        if (found !== undefined) return resolve(found);
        const error = replies.find((m) => m.type === 'error');
        if (error !== undefined) reject(new Error(JSON.stringify(error)));
      };
      ws.on('message', check);
      check();
    });
  ws.on('message', (data) => replies.push(JSON.parse(data.toString()) as Record<string, unknown>));
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ type: 'hello', protocol: 1, agent: 'claimer/1' }));
  await next('welcome');
  ws.send(JSON.stringify({ type: 'claim', nameplate }));
  const paired = await next('paired');
  if (sendShare) {
    // A valid group element (an invalid one is a failed guess and rightly burns the code): the claimer's share.
    const y = ristretto255.Point.BASE.multiply(12345n).toBytes();
    const pake = {
      type: 'pake',
      sid: paired.sid,
      role: 'receive',
      abilities: ['relay-v1'],
      y: Buffer.from(y).toString('base64url'),
    };
    ws.send(JSON.stringify({ type: 'msg', body: Buffer.from(JSON.stringify(pake)).toString('base64url') }));
  }
  ws.close();
  await new Promise((resolve) => ws.once('close', resolve));
}

/** Resolves once `p` has printed `count` events named `name`. */
async function events(p: Proc, name: string, count: number): Promise<void> {
  while (p.events().filter((e) => e.event === name).length < count) {
    if (p.child.exitCode !== null) throw new Error(`exited: ${p.stdout()} ${p.stderr()}`.slice(-2000));
    await Promise.race([p.exited, new Promise((resolve) => p.child.stdout!.once('data', resolve))]);
  }
}

describe('claim-and-leave does not cost the sender its code', () => {
  it('two claimers leave (one at once, one after sending a share): the sender waits on, the next receiver gets the file', async () => {
    const dir = join(world.tmp, 'claim-and-leave');
    await mkdir(join(dir, 'src'), { recursive: true });
    await mkdir(join(dir, 'dst'), { recursive: true });
    const content = randomBytes(2_000_000);
    await writeFile(join(dir, 'src', 'data.bin'), content);
    const sender = runPortunus(['send', '--json', '--relay', world.relay.url, 'data.bin'], { cwd: join(dir, 'src') });
    const code = await sender.waitEvent('code');
    await claimAndLeave(Number(code.nameplate), false);
    await events(sender, 'unpaired', 1);
    await claimAndLeave(Number(code.nameplate), true);
    await events(sender, 'unpaired', 2);
    const receiver = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, String(code.code)], {
      cwd: join(dir, 'dst'),
    });
    expect([await exitOf(sender), await exitOf(receiver)], sender.stdout() + receiver.stdout()).toEqual([0, 0]);
    expect(sha256(await readFile(join(dir, 'dst', 'data.bin')))).toBe(sha256(content));
    expect(sender.events().filter((e) => e.event === 'confirmed')).toHaveLength(1);
  });
});
