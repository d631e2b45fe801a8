/**
 * What the self-hosting tests check through a relay they set up (a container, nginx in front of a relay process):
 * real `portunus send` and `receive` processes move one random file through it, and the SHA-256 of what arrived
 * must equal the sent file's.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { exitOf, runPortunus, TRANSFER_MS, type Proc } from '../../cli/test/e2e/harness.js';

export interface Moved {
  sender: Proc;
  receiver: Proc;
  codes: (number | null)[];
  sentSha256: string;
  /** Undefined when nothing arrived. */
  receivedSha256: string | undefined;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Moves `bytes` random bytes as data.bin from dir/src to dir/dst through the relay at `relay`, relay path only. */
export async function moveFile(
  dir: string,
  relay: string,
  extraArgs: string[] = [],
  bytes = 3_000_000,
): Promise<Moved> {
  const [src, dst] = [join(dir, 'src'), join(dir, 'dst')];
  await mkdir(src, { recursive: true });
  await mkdir(dst, { recursive: true });
  const sent = randomBytes(bytes);
  await writeFile(join(src, 'data.bin'), sent);
  const common = ['--json', '--transport', 'relay', '--relay', relay, ...extraArgs];
  const sender = runPortunus(['send', ...common, 'data.bin'], { cwd: src });
  const code = String((await sender.waitEvent('code', { timeoutMs: TRANSFER_MS })).code);
  const receiver = runPortunus(['receive', ...common, '--yes', code], { cwd: dst });
  const codes = await Promise.all([exitOf(sender, TRANSFER_MS), exitOf(receiver, TRANSFER_MS)]);
  const received = codes[1] === 0 ? await readFile(join(dst, 'data.bin')) : undefined;
  return {
    sender,
    receiver,
    codes,
    sentSha256: sha256(sent),
    receivedSha256: received === undefined ? undefined : sha256(received),
  };
}

/** A TCP port that was free on 127.0.0.1 a moment ago, for servers that must be told their port in advance. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
