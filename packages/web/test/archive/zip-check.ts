/** Reading zips back with independent tools: Info-ZIP `unzip` and CPython's zipfile. */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';

export interface ZipReport {
  /** testzip(): the first entry whose CRC or header is bad, or null. */
  bad: string | null;
  entries: { name: string; size: number; crc: number; flags: number; mode: number; sha256: string | null }[];
}

const PY = `
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip() if sys.argv[2] == 'yes' else None
out = []
for i in z.infolist():
    digest = None if i.is_dir() or sys.argv[2] == 'no' else hashlib.sha256(z.read(i)).hexdigest()
    out.append(dict(name=i.filename, size=i.file_size, crc=i.CRC, flags=i.flag_bits, mode=i.external_attr >> 16, sha256=digest))
sys.stdout.write(json.dumps(dict(bad=bad, entries=out)))
`;

/**
 * What CPython's zipfile reads from the zip at `path`; with `check`, after testing every CRC and hashing each entry
 * (slow for tens of thousands of entries: unzipTest checks those faster).
 */
export function readZip(path: string, check = true): ZipReport {
  return JSON.parse(
    execFileSync('python3', ['-c', PY, path, check ? 'yes' : 'no'], { maxBuffer: 256 * 1024 * 1024 }).toString(),
  ) as ZipReport;
}

/** The names `unzip -l` lists, and its summary line's entry count. */
export function unzipList(path: string): { names: string[]; count: number } {
  const out = execFileSync('unzip', ['-l', path], { maxBuffer: 256 * 1024 * 1024 })
    .toString('utf8')
    .trimEnd()
    .split('\n');
  const count = Number(/(\d+) files?$/.exec(out.at(-1)!)?.[1]);
  const names = out.slice(3, -2).map((line) => line.slice(30));
  return { names, count };
}

export async function writeChunks(
  path: string,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<void> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c.slice());
  // One buffer: writeFile of many small parts costs a write call each.
  await writeFile(path, Buffer.concat(parts));
}

/** `unzip -tq`: Info-ZIP reads every entry and checks its CRC; true when it reports no errors. */
export function unzipTest(path: string): boolean {
  return /^No errors detected/.test(execFileSync('unzip', ['-tq', path]).toString('utf8'));
}
