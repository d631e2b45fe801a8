/** Tars built as a (possibly hostile) sender could: tar-stream `pack`, as the CLI uses it, or raw blocks. */
import { pack as createPack, type Header } from 'tar-stream';

export interface TarItem {
  header: Partial<Header> & { name: string };
  body?: string | Uint8Array;
}

export async function buildTar(items: TarItem[]): Promise<Uint8Array> {
  const pack = createPack();
  const parts: Uint8Array[] = [];
  const done = (async () => {
    for await (const piece of pack as AsyncIterable<Uint8Array>) parts.push(piece);
  })();
  for (const item of items) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (item.body === undefined) pack.entry(item.header, cb);
      else pack.entry(item.header, Buffer.from(item.body), cb);
    });
  }
  pack.finalize();
  await done;
  return new Uint8Array(Buffer.concat(parts));
}

export async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}
