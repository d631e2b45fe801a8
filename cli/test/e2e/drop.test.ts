/**
 * Drops end to end (PROTOCOL.md §11): real `portunus relay --storage DIR`, `send --drop` and `receive D-…` processes on
 * 127.0.0.1. Interruptions are placed by events, never by sleeping: the relay's storage folder for an upload (held
 * short of its end by a proxy), the receiver's resume state for a download; then the process is killed with SIGKILL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from './faults.js';
import { exitOf, runPortunus, startRelayProcess, tempDir, type Proc, type RelayProc } from './harness.js';
import { stateReaches } from './resume-watch.js';

const MB = 1000 * 1000;
const DROP_MS = 120_000;
let relay: RelayProc;
let storage: string;
let tmp: { path: string; cleanup: () => Promise<void> };
let runs = 0;

beforeAll(async () => {
  tmp = await tempDir('portunus-drop-');
  storage = join(tmp.path, 'storage');
  await mkdir(storage);
  relay = await startRelayProcess(['--storage', storage]);
});

afterAll(async () => {
  await relay?.stop();
  await tmp?.cleanup();
});

interface Case {
  src: string;
  dst: string;
  /** XDG_STATE_HOME of this case's commands: where upload states and leases live. */
  env: Record<string, string>;
  content: Buffer;
  digest: string;
}

async function makeCase(size: number): Promise<Case> {
  const dir = join(tmp.path, `case${runs++}`);
  const c = { src: join(dir, 'src'), dst: join(dir, 'dst'), env: { XDG_STATE_HOME: join(dir, 'state') } };
  await mkdir(c.src, { recursive: true });
  await mkdir(c.dst, { recursive: true });
  const content = randomBytes(size);
  await writeFile(join(c.src, 'data.bin'), content);
  return { ...c, content, digest: createHash('sha256').update(content).digest('hex') };
}

function drop(c: Case, extra: string[] = [], via = relay.url): Proc {
  return runPortunus(['send', '--json', '--drop', '--relay', via, ...extra, 'data.bin'], {
    cwd: c.src,
    env: c.env,
  });
}

function fetch(c: Case, code: string, dst = c.dst, via = relay.url): Proc {
  return runPortunus(['receive', '--json', '--yes', '--relay', via, code], { cwd: dst, env: c.env });
}

/** Drops the case's file and gives its code once the sender exited 0. */
async function dropped(c: Case, extra: string[] = []): Promise<string> {
  const sender = drop(c, extra);
  expect(await exitOf(sender, DROP_MS), sender.stderr()).toBe(0);
  const done = sender.events().find((e) => e.event === 'done') as { drop: { code: string }; sha256: string };
  expect(done.sha256).toBe(c.digest);
  return done.drop.code;
}

function errorOf(p: Proc): string | undefined {
  return p.events().find((e) => e.event === 'error')?.error as string | undefined;
}

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Every file under `dir` with its size. */
async function filesUnder(dir: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  for (const name of await readdir(dir, { recursive: true })) {
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (st?.isFile()) out.push({ path: join(dir, name), size: st.size });
  }
  return out;
}

/**
 * Resolves once a file in the storage folder that was not there `before` holds at least `bytes` (earlier tests'
 * drops may still be there, or be being deleted): woken by the folder's change events.
 */
async function storedReaches(bytes: number, before: Set<string>, sender: Proc): Promise<void> {
  const watcher = watch(storage, { recursive: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const grown = (f: { path: string; size: number }) => !before.has(f.path) && f.size >= bytes;
      const check = () => void filesUnder(storage).then((f) => f.some(grown) && resolve(), reject);
      watcher.on('change', check);
      void sender.exited.then(() => reject(new Error(`the sender exited first: ${sender.stderr()}`)));
      check();
    });
  } finally {
    watcher.close();
  }
}

describe('portunus send --drop / receive D-…', () => {
  it('drops 200 MB and a later receiver gets it whole (SHA-256); a one-time drop refuses the second receiver', async () => {
    const c = await makeCase(200 * MB);
    const code = await dropped(c);
    expect(code).toMatch(/^D-(?:[0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}$/);
    const first = fetch(c, code);
    expect(await exitOf(first, DROP_MS), first.stderr()).toBe(0);
    expect(await sha256Of(join(c.dst, 'data.bin'))).toBe(c.digest);
    const offer = first.events().find((e) => e.event === 'offer') as { drop: { downloadsLeft: number } };
    expect(offer.drop.downloadsLeft).toBe(0);
    const done = first.events().find((e) => e.event === 'done');
    expect(done?.sha256).toBe(c.digest);
    const second = fetch(c, code, c.src);
    expect(await exitOf(second, DROP_MS)).toBe(3);
    expect(errorOf(second)).toMatch(/^DROP_(GONE|NOT_FOUND)$/);
  });

  it('--downloads 3: three receivers started after the sender exited fetch in parallel; a fourth is refused', async () => {
    const c = await makeCase(20 * MB);
    const code = await dropped(c, ['--downloads', '3', '--expire', '1h']);
    const dsts = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const dst = join(c.dst, `consumer${i}`);
        await mkdir(dst);
        return dst;
      }),
    );
    const consumers = dsts.map((dst) => fetch(c, code, dst));
    const codes = await Promise.all(consumers.map((p) => exitOf(p, DROP_MS)));
    expect(codes, consumers.map((p) => p.stderr()).join('\n')).toEqual([0, 0, 0]);
    for (const dst of dsts) expect(await sha256Of(join(dst, 'data.bin'))).toBe(c.digest);
    const fourth = fetch(c, code);
    expect(await exitOf(fourth, DROP_MS), fourth.stdout()).toBe(3);
    expect(errorOf(fourth)).toMatch(/^DROP_(GONE|NOT_FOUND)$/);
  });

  it('an upload killed at half resumes when the same command runs again, moving at most 55% again', async () => {
    const c = await makeCase(64 * MB);
    // The first run goes through a proxy that stops moving its connection once 60% of the file went up, so the
    // upload cannot finish before the kill however fast it is; the relay still stores what it got (its request
    // stays open), and once it holds half the sender is killed. Later connections through the proxy move as usual.
    const proxy = await TcpProxy.start(Number(new URL(relay.url).port), { freezeAfter: 0.6 * c.content.length });
    try {
      const via = relay.url.replace(/:\d+/, `:${proxy.port}`);
      const before = new Set((await filesUnder(storage)).map((f) => f.path));
      const first = drop(c, [], via);
      await storedReaches(c.content.length / 2, before, first);
      first.child.kill('SIGKILL');
      await exitOf(first);
      const again = drop(c, [], via);
      expect(await exitOf(again, DROP_MS), again.stderr()).toBe(0);
      const done = again.events().find((e) => e.event === 'done') as { reused: number; drop: { code: string } };
      expect(done.reused).toBeGreaterThanOrEqual(0.45 * c.content.length);
      const receiver = fetch(c, done.drop.code);
      expect(await exitOf(receiver, DROP_MS), receiver.stderr()).toBe(0);
      expect(await sha256Of(join(c.dst, 'data.bin'))).toBe(c.digest);
    } finally {
      await proxy.close();
    }
  });

  it('a download killed at half resumes from its last complete MiB without taking another download', async () => {
    const c = await makeCase(64 * MB);
    const code = await dropped(c);
    // Through a proxy that stops moving the download once 60% came down, so it cannot finish before the kill.
    const proxy = await TcpProxy.start(Number(new URL(relay.url).port), { freezeDownAfter: 0.6 * c.content.length });
    try {
      const via = relay.url.replace(/:\d+/, `:${proxy.port}`);
      const first = fetch(c, code, c.dst, via);
      await stateReaches(c.dst, c.content.length / 2, first);
      first.child.kill('SIGKILL');
      await exitOf(first);
      // A one-time drop: the second run succeeds only on the first run's lease (a new download would be DROP_GONE).
      const again = fetch(c, code);
      expect(await exitOf(again, DROP_MS), again.stderr()).toBe(0);
      const done = again.events().find((e) => e.event === 'done') as { reused: number; sha256: string };
      expect(done.reused).toBeGreaterThanOrEqual(0.45 * c.content.length);
      expect(done.sha256).toBe(c.digest);
      expect(await sha256Of(join(c.dst, 'data.bin'))).toBe(c.digest);
    } finally {
      await proxy.close();
    }
  });

  it('a receiver killed after the relay wrote the last byte, before it had them: the re-run still gets the drop', async () => {
    const c = await makeCase(8 * MB);
    const code = await dropped(c);
    // A proxy that reads the whole response from the relay but hands the receiver only 90% of it.
    const proxy = await TcpProxy.start(Number(new URL(relay.url).port), { holdDownAfter: 0.9 * c.content.length });
    try {
      const first = fetch(c, code, c.dst, relay.url.replace(/:\d+/, `:${proxy.port}`));
      // The relay has written every byte when no download is being sent any more (drop-http.ts: the response ended).
      const metrics = relay.url.replace(/^ws/, 'http').replace(/\/v1$/, '/metrics');
      const sending = async () =>
        Number(/portunus_relay_drop_downloads_sending (\d+)/.exec(await (await globalThis.fetch(metrics)).text())?.[1]);
      await stateReaches(c.dst, 0.6 * c.content.length, first);
      const deadline = Date.now() + DROP_MS;
      while ((await sending()) !== 0) {
        if (Date.now() > deadline) throw new Error('the relay never finished writing the download');
        await new Promise((resolve) => setImmediate(resolve));
      }
      first.child.kill('SIGKILL');
      await exitOf(first);
      // A one-time drop whose lease ended with its last byte written would now be DROP_GONE: it is not.
      const again = fetch(c, code);
      expect(await exitOf(again, DROP_MS), again.stderr()).toBe(0);
      const done = again.events().find((e) => e.event === 'done') as { reused: number; sha256: string };
      expect(done.reused).toBeGreaterThan(0);
      expect(done.sha256).toBe(c.digest);
      // The re-run said so, and the lease ended: the drop is gone now.
      await mkdir(join(c.dst, 'again'), { recursive: true });
      const gone = fetch(c, code, join(c.dst, 'again'));
      expect(await exitOf(gone, DROP_MS)).toBe(3);
      expect(errorOf(gone)).toBe('DROP_GONE');
    } finally {
      await proxy.close();
    }
  });

  it('a stored byte flipped on disk fails the receiver CORRUPT, keeping nothing', async () => {
    const c = await makeCase(3 * MB);
    const before = new Set((await filesUnder(storage)).map((f) => f.path));
    const code = await dropped(c);
    const stored = (await filesUnder(storage)).filter((f) => !before.has(f.path) && f.size > c.content.length);
    expect(stored).toHaveLength(1);
    const handle = await open(stored[0]!.path, 'r+');
    const at = Math.floor(stored[0]!.size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0x40;
    await handle.write(byte, 0, 1, at);
    await handle.close();
    const receiver = fetch(c, code);
    expect(await exitOf(receiver, DROP_MS)).toBe(7);
    expect(errorOf(receiver)).toBe('CORRUPT');
    expect(await readdir(c.dst)).toEqual([]);
  });

  it('a relay without --storage refuses with DROPS_DISABLED (exit 6)', async () => {
    const plain = await startRelayProcess();
    try {
      const c = await makeCase(1000);
      const sender = runPortunus(['send', '--json', '--drop', '--relay', plain.url, 'data.bin'], {
        cwd: c.src,
        env: c.env,
      });
      expect(await exitOf(sender)).toBe(6);
      expect(errorOf(sender)).toBe('DROPS_DISABLED');
    } finally {
      await plain.stop();
    }
  });

  it('refuses what a drop cannot be before any request: exit 2 with a usage error', async () => {
    const c = await makeCase(10);
    const cases: [string[], string][] = [
      [['send', '--expire', '1h', 'data.bin'], 'USAGE'],
      [['send', '--drop', '--expire', '8d', 'data.bin'], 'USAGE'],
      [['send', '--drop', '--downloads', '0', 'data.bin'], 'USAGE'],
      [['send', '--drop', '--code', '7-H7K-29A', 'data.bin'], 'USAGE'],
      [['send', '--drop', '-'], 'USAGE'],
      [['receive', '--yes', 'D-7KQ2-M9XD'], 'BAD_CODE'],
    ];
    for (const [args, code] of cases) {
      const p = runPortunus([...args, '--json', '--relay', relay.url], { cwd: c.src, env: c.env, stdin: 'x' });
      expect(await exitOf(p), args.join(' ')).toBe(2);
      expect(errorOf(p), args.join(' ')).toBe(code);
    }
  });
});
