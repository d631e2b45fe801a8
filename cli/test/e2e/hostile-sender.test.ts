/**
 * A hostile sender: a test helper that speaks the real protocol (it knows the code, so every check up to the
 * offer passes) and then offers paths meant to escape the output folder or attack the terminal. The receiver is a
 * real `portunus receive` process. Nothing may be written outside its output folder, and nothing partial inside.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeAead } from '@portunus/protocol/node';
import {
  DATA_STREAM,
  type Digest,
  formatCode,
  FrameSealer,
  generateSecret,
  type Offer,
  secureRandomBytes,
} from '@portunus/protocol';
import { connectRelay } from '../../src/relay-client/client.js';
import { type DataContext, driveSession, type RelayClient, RelayTransport } from '@portunus/client';
import { exitOf, runPortunus, useRelayWorld } from './harness.js';
import { streamOverRelay } from './relay-stream.js';

const world = useRelayWorld({ beforeAll, afterAll });

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; linkname?: string; body?: string };

/** Builds a tar in memory (small, test-only) from raw entries, with no checks at all. */
async function hostileTar(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((res) => p.on('end', () => res()));
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = type === 'file' ? (e.body ?? '') : '';
    const header = {
      name: e.name,
      type,
      size: Buffer.byteLength(body),
      mode: 0o644,
      ...(e.linkname ? { linkname: e.linkname } : {}),
    };
    if (type === 'file') p.entry(header, body);
    else p.entry(header);
  }
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** Runs the sender side of a session by hand, with whatever offer and bytes the test wants. */
type SendData = (client: RelayClient, ctx: DataContext, data: Buffer) => Promise<Digest>;

/** Every frame but the FINAL one, then the claim that all was sent (what a truncating relay would make of it). */
const withoutFinal: SendData = async (client, ctx, data) => {
  const transport = await RelayTransport.open(client);
  const sealer = new FrameSealer(nodeAead(ctx.keys.data[ctx.side]), DATA_STREAM);
  await transport.send(sealer.seal(new Uint8Array(data), false));
  return { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
};

async function hostileSend(
  offer: Offer,
  data: Buffer,
  onCode: (code: string) => void,
  sendData: SendData = streamOverRelay,
): Promise<unknown> {
  const client = await connectRelay({ url: world.relay.url, agent: 'evil/1.0' });
  try {
    const nameplate = await client.allocate();
    const code = { nameplate, secret: generateSecret(secureRandomBytes) };
    onCode(formatCode(code));
    return await driveSession(client, {
      relayName: client.relayName,
      config: { role: 'send', code, abilities: ['relay-v1'], offer, aead: nodeAead, random: secureRandomBytes },
      waitMs: 60_000,
      stallMs: 60_000,
      hooks: { sendData: (ctx) => sendData(client, ctx, data) },
    }).catch((err: unknown) => err);
  } finally {
    await client.close();
  }
}

async function receiveFrom(offer: Offer, data: Buffer, name: string, sendData?: SendData, receiveArgs: string[] = []) {
  const box = join(world.tmp, name); // the receiver's world: nothing may appear in it but `out`
  const out = join(box, 'out');
  await mkdir(out, { recursive: true });
  let sending!: Promise<unknown>;
  const code = await new Promise<string>((res) => (sending = hostileSend(offer, data, res, sendData)));
  const receiver = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, ...receiveArgs, code], {
    cwd: out,
  });
  const exit = await exitOf(receiver);
  await sending;
  return { exit, receiver, box, out };
}

async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { recursive: true })) out.push(String(e));
  return out.sort();
}

/** An offer that tells the truth about counts, so only the paths themselves are hostile. */
function folder(name: string, size: number, entries: Entry[]): Offer {
  const files = entries.filter((e) => (e.type ?? 'file') === 'file');
  return {
    kind: 'folder',
    name,
    size,
    files: files.length,
    bytes: files.reduce((n, e) => n + Buffer.byteLength(e.body ?? ''), 0),
  };
}

describe('a hostile sender cannot write outside the output folder', () => {
  it.each([
    [
      '../evil',
      [
        { name: 'x/', type: 'directory' as const },
        { name: 'x/../../evil', body: 'evil' },
      ],
    ],
    [
      'an absolute path',
      [
        { name: 'x/', type: 'directory' as const },
        { name: '/tmp/portunus-evil-abs', body: 'evil' },
      ],
    ],
    [
      'a path outside the offered folder',
      [
        { name: 'x/', type: 'directory' as const },
        { name: 'other/evil', body: 'evil' },
      ],
    ],
    [
      'a symlink escape, then a write through it',
      [
        { name: 'x/', type: 'directory' as const },
        { name: 'x/link', type: 'symlink' as const, linkname: '../..' },
        { name: 'x/link/evil', body: 'evil' },
      ],
    ],
    [
      'an absolute symlink',
      [
        { name: 'x/', type: 'directory' as const },
        { name: 'x/etc', type: 'symlink' as const, linkname: '/etc' },
        { name: 'x/etc/evil', body: 'evil' },
      ],
    ],
    [
      'a hardlink to outside',
      [
        { name: 'x/', type: 'directory' as const },
        { name: 'x/h', type: 'link' as const, linkname: '../../../etc/passwd' },
      ],
    ],
  ])('%s: refused with exit 8, nothing written anywhere', async (label, entries) => {
    const data = await hostileTar(entries);
    const { exit, receiver, box, out } = await receiveFrom(
      folder('x', data.length, entries),
      data,
      `case-${label.replace(/\W+/g, '-')}`,
    );
    expect(receiver.events().find((e) => e.event === 'error')).toMatchObject({ error: 'UNSAFE_PATH' });
    expect(exit).toBe(8);
    expect(await tree(box)).toEqual(['out']);
    expect(await tree(out)).toEqual([]);
    await expect(lstat('/tmp/portunus-evil-abs')).rejects.toThrow();
  });

  it('a file offer named ../evil is refused before anything is written', async () => {
    const { exit, box } = await receiveFrom(
      { kind: 'file', name: '../evil', size: 4 },
      Buffer.from('evil'),
      'case-file-dotdot',
    );
    expect(exit).toBe(8);
    expect(await tree(box)).toEqual(['out']);
  });

  it('a name carrying terminal escapes never reaches the screen', async () => {
    const name = '\x1b]0;pwned\x07\x1b[2Jevil.txt';
    const { exit, receiver, box } = await receiveFrom(
      { kind: 'file', name, size: 4 },
      Buffer.from('evil'),
      'case-escape',
    );
    expect(exit).toBe(8);
    expect(receiver.stdout() + receiver.stderr()).not.toContain('\x1b');
    expect(await tree(box)).toEqual(['out']);
  });

  it('"sent" before the FINAL frame is CORRUPT at once (no waiting out the stall timeout), nothing kept', async () => {
    const data = Buffer.alloc(100_000, 2);
    // With a 600 s stall timeout only the sent-before-FINAL rule can end this within exitOf's bound.
    const { exit, box, receiver } = await receiveFrom(
      { kind: 'file', name: 'cut.bin', size: data.length },
      data,
      'case-cut',
      withoutFinal,
      ['--stall-timeout', '600'],
    );
    expect(exit).toBe(7);
    expect(receiver.events().find((e) => e.event === 'error')).toMatchObject({
      error: 'CORRUPT',
      message: expect.stringMatching(/before its final frame/),
    });
    expect(await tree(box)).toEqual(['out']);
  });

  it('more data than offered is CORRUPT (exit 7) and leaves no partial file', async () => {
    const { exit, box } = await receiveFrom(
      { kind: 'file', name: 'short.bin', size: 10 },
      Buffer.alloc(100_000, 1),
      'case-oversize',
    );
    expect(exit).toBe(7);
    expect(await tree(box)).toEqual(['out']);
  });
});
