/** The drop API with `--storage DIR` (drop-suite.ts), and what only a directory shows: a killed relay keeps drops. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dropBytes, newDropId, sha256 } from './drop-client.js';
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
