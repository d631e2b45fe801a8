/** Shared helpers for the file-layer tests: temp dirs, tar building, draining sources and feeding sinks. */
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack as createPack, type Header } from 'tar-stream';
import { PortunusError } from '@portunus/protocol';
import type { Sink } from '../../src/files/sink.js';

export async function tempDir(label: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `portunus-${label}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

export function concat(chunks: Uint8Array[]): Buffer {
  return Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.length)));
}

/** Cuts `data` into pieces of `size` bytes and writes them one by one. */
export async function feed(sink: Sink, data: Uint8Array, size = 4096): Promise<void> {
  for (let off = 0; off < data.length; off += size) await sink.write(data.subarray(off, off + size));
}

export interface TarItem {
  header: Partial<Header> & { name: string };
  body?: string | Buffer;
}

/** Builds a tar in memory with tar-stream pack, exactly as a (possibly hostile) sender could. */
export async function buildTar(items: TarItem[]): Promise<Buffer> {
  const pack = createPack();
  const parts: Buffer[] = [];
  const done = (async () => {
    for await (const piece of pack as AsyncIterable<Buffer>) parts.push(piece);
  })();
  for (const item of items) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (item.body === undefined) pack.entry(item.header, cb);
      else pack.entry(item.header, item.body, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(parts);
}

/** Every path below `root` (relative, '/'-separated, sorted), with a type marker: dir/, link -> target, or file. */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(path);
      if (st.isDirectory()) {
        out.push(`${r}/`);
        await walk(path, r);
      } else if (st.isSymbolicLink()) {
        out.push(`${r} -> ${await readlink(path)}`);
      } else {
        out.push(r);
      }
    }
  };
  await walk(root, '');
  return out;
}

export async function readText(path: string): Promise<string> {
  return (await readFile(path)).toString('utf8');
}

/** Awaits `promise`, which must reject with a PortunusError, and returns that error. */
export async function portunusError(promise: Promise<unknown>): Promise<PortunusError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof PortunusError) return err;
    throw new Error(`expected a PortunusError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected a rejection, but it resolved');
}

export const isRoot = process.getuid?.() === 0;
