/** The drop API with `--storage DIR` (drop-suite.ts), and what only a directory shows: a killed relay keeps drops. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDrop, dropBytes, eventually, newDropId, sha256, TUS } from './drop-client.js';
import { dropSuite } from './drop-suite.js';
import { startTestRelay, within } from './helpers.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function newDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portunus-drops-'));
  dirs.push(dir);
  return dir;
}

dropSuite('a directory', {
  storage: newDir,
  env: {},
  async stored(dir) {
    const names = await Promise.all(['uploads', 'records'].map((d) => readdir(join(dir, d)).catch(() => [])));
    return names.flat();
  },
});

describe('drops on a directory', () => {
  it('survive a relay killed with SIGKILL: the restarted relay serves them', async () => {
    const dir = await newDir();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'relay/src/main.ts', '--port', '0', '--host', '127.0.0.1', '--json', '--storage', dir],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PORTUNUS_RELAY_PORT: '' } },
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const line = await within(
      new Promise<string>((resolve) => {
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
        });
      }),
      'the relay process to listen',
      30_000,
    );
    const { url } = JSON.parse(line) as { url: string };
    const base = url.replace(/^ws:/, 'http:').replace(/\/v1$/, '');
    const data = randomBytes(300_000);
    const id = newDropId();
    await dropBytes(base, id, data);
    child.kill('SIGKILL');
    await within(exited, 'the relay process to die');

    const relay = await startTestRelay({ storage: dir });
    try {
      const res = await fetch(`http://127.0.0.1:${relay.port}/drops/${id}`);
      expect(res.status).toBe(200);
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(data));
    } finally {
      await relay.close(0);
    }
  });

  it('count an upload complete when its bytes are but its record was not yet marked (killed between the two)', async () => {
    const dir = await newDir();
    const first = await startTestRelay({ storage: dir });
    const data = randomBytes(10_000);
    const id = newDropId();
    await dropBytes(`http://127.0.0.1:${first.port}`, id, data);
    await first.close(0);
    const path = join(dir, 'records', `${id}.json`);
    const record = JSON.parse(await readFile(path, 'utf8')) as { complete: boolean };
    await writeFile(path, JSON.stringify({ ...record, complete: false }));

    const relay = await startTestRelay({ storage: dir });
    try {
      const res = await fetch(`http://127.0.0.1:${relay.port}/drops/${id}`);
      expect(res.status).toBe(200);
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(data));
    } finally {
      await relay.close(0);
    }
  });

  it('let an upload under way finish during a graceful shutdown, and keep it', async () => {
    const dir = await newDir();
    const relay = await startTestRelay({ storage: dir, graceMs: 30_000 });
    const base = `http://127.0.0.1:${relay.port}`;
    const data = randomBytes(2 * 1024 * 1024);
    const id = newDropId();
    const { token } = await createDrop(base, { id }, data.length);
    let closing: Promise<void> | undefined;
    const offset = await within(
      new Promise<number>((resolve, reject) => {
        const req = request(`${base}/drops/${id}`, {
          method: 'PATCH',
          headers: {
            ...TUS,
            'Upload-Offset': '0',
            'Content-Type': 'application/offset+octet-stream',
            'Content-Length': String(data.length),
            'Portunus-Upload-Token': token,
          },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(Number(res.headers['upload-offset']));
        });
        req.on('error', reject);
        req.write(data.subarray(0, 1024 * 1024));
        // Once bytes have reached the file, the PATCH is under way: then the shutdown starts. (Not asked with a
        // HEAD: a tus HEAD takes the upload's lock, which ends the PATCH holding it.)
        const stored = async (): Promise<boolean> => (await stat(join(dir, 'uploads', id))).size > 0;
        eventually(stored, 'the first bytes stored').then(() => {
          closing = relay.close();
          req.end(data.subarray(1024 * 1024));
        }, reject);
      }),
      'the PATCH answer during the shutdown',
    );
    expect(offset).toBe(data.length);
    await within(closing!, 'the shutdown');

    const again = await startTestRelay({ storage: dir });
    try {
      const res = await fetch(`http://127.0.0.1:${again.port}/drops/${id}`);
      expect([res.status, res.headers.get('portunus-error')]).toEqual([200, null]);
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(data));
    } finally {
      await again.close(0);
    }
  });

  it('answer INTERNAL without taking a slot when the stored bytes cannot be read', async () => {
    const dir = await newDir();
    const relay = await startTestRelay({ storage: dir });
    try {
      const base = `http://127.0.0.1:${relay.port}`;
      const id = newDropId();
      await dropBytes(base, id, randomBytes(1000), { downloads: '2' });
      await rm(join(dir, 'uploads', id));
      const res = await fetch(`${base}/drops/${id}`);
      expect([res.status, res.headers.get('portunus-error')]).toEqual([500, 'INTERNAL']);
      const head = await fetch(`${base}/drops/${id}`, { method: 'HEAD' });
      expect(head.headers.get('portunus-downloads-left')).toBe('2');
    } finally {
      await relay.close(0);
    }
  });

  it('answer DROPS_DISABLED on a relay without --storage', async () => {
    const relay = await startTestRelay();
    try {
      const base = `http://127.0.0.1:${relay.port}`;
      for (const [method, path] of [
        ['GET', '/drops'],
        ['POST', '/drops'],
        ['GET', `/drops/${newDropId()}`],
      ] as const) {
        const res = await fetch(`${base}${path}`, { method });
        expect([res.status, res.headers.get('portunus-error')], `${method} ${path}`).toEqual([404, 'DROPS_DISABLED']);
        expect(await res.text()).toBe('this relay stores no drops\n');
      }
    } finally {
      await relay.close(0);
    }
  });
});
