/**
 * End-to-end harness: real `bin/portunus` processes (compiled JS, as users run it) talking through a real relay on
 * 127.0.0.1 with an ephemeral port. Waits are on process output and exit events, each with a timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
export const BIN = join(ROOT, 'cli/bin/portunus');

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stdoutBytes: () => Buffer;
  stderr: () => string;
  /** Parsed NDJSON lines of a stream (the one --json writes to). */
  events: (stream?: 'stdout' | 'stderr') => Record<string, unknown>[];
  /** Resolves with the first event matching, or rejects on exit/timeout. */
  waitEvent: (
    name: string,
    opts?: { stream?: 'stdout' | 'stderr'; timeoutMs?: number },
  ) => Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  stdin?: Buffer | string | 'pipe';
  /** Command to run portunus under, e.g. ['ip', 'netns', 'exec', 'ns1'] (the lab tests). */
  prefix?: string[];
  /** What runs portunus instead of this Node with bin/portunus, e.g. an installed package's bin (test/install). */
  command?: string[];
}

/** Environment without anything from the developer's shell that would change the CLI's behaviour. */
function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('PORTUNUS_')) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function runPortunus(args: string[], opts: RunOptions = {}): Proc {
  const argv = [...(opts.prefix ?? []), ...(opts.command ?? [process.execPath, BIN]), ...args];
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd ?? ROOT,
    env: cleanEnv(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  child.stdout!.on('data', (d: Buffer) => (out.push(d), notify()));
  child.stderr!.on('data', (d: Buffer) => (err.push(d), notify()));
  if (opts.stdin === undefined) child.stdin!.end();
  else if (opts.stdin !== 'pipe') child.stdin!.end(opts.stdin);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => {
      // Let the last output chunks arrive before anyone reads them.
      child.stdout!.once('close', () => res({ code, signal }));
      if (child.stdout!.closed) res({ code, signal });
      notify();
    }),
  );
  const stdout = () => Buffer.concat(out).toString('utf8');
  const stderr = () => Buffer.concat(err).toString('utf8');
  const events = (stream: 'stdout' | 'stderr' = 'stdout') =>
    (stream === 'stdout' ? stdout() : stderr())
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const waitEvent: Proc['waitEvent'] = (name, o = {}) =>
    new Promise((resolvePromise, reject) => {
      const check = () => {
        const ev = events(o.stream).find((e) => e.event === name);
        if (ev) return done(() => resolvePromise(ev));
        if (child.exitCode !== null || child.signalCode !== null) {
          done(() => reject(new Error(`exited before '${name}' event; stdout=${stdout()} stderr=${stderr()}`)));
        }
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`timed out waiting for '${name}'; stdout=${stdout()} stderr=${stderr()}`))),
        o.timeoutMs ?? 20_000,
      );
      const done = (fn: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        fn();
      };
      waiters.add(check);
      check();
    });
  return { child, stdout, stdoutBytes: () => Buffer.concat(out), stderr, events, waitEvent, exited };
}

/** Waits for exit with a bound; kills the process if it hangs (a hang is itself a failure the test reports). */
export async function exitOf(p: Proc, timeoutMs = 60_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      p.child.kill('SIGKILL');
      reject(new Error(`process did not exit within ${timeoutMs} ms; stderr=${p.stderr()}`));
    }, timeoutMs);
  });
  try {
    return (await Promise.race([p.exited, timeout])).code;
  } finally {
    clearTimeout(timer);
  }
}

export interface RelayProc {
  url: string;
  proc: Proc;
  stop: () => Promise<void>;
}

export async function startRelayProcess(
  extraArgs: string[] = [],
  opts: Pick<RunOptions, 'prefix' | 'env'> = {},
): Promise<RelayProc> {
  const proc = runPortunus(['relay', '--host', '127.0.0.1', '--port', '0', '--json', ...extraArgs], {
    stdin: 'pipe',
    ...opts,
  });
  const ev = await proc.waitEvent('listening');
  return {
    url: String(ev.url),
    proc,
    stop: async () => {
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
      await proc.exited;
    },
  };
}

export async function tempDir(prefix = 'portunus-e2e-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export interface E2eWorld {
  /** The relay process shared by the file's tests. */
  readonly relay: RelayProc;
  /** A temporary folder removed after the file's tests. */
  readonly tmp: string;
}

/**
 * Registers beforeAll/afterAll hooks that start one relay process and one temporary folder for a test file.
 * Read the fields inside tests (they are set once beforeAll has run).
 */
export function useRelayWorld(hooks: {
  beforeAll: (fn: () => Promise<void>) => void;
  afterAll: (fn: () => Promise<void>) => void;
}): E2eWorld {
  let relay: RelayProc | undefined;
  let tmp: { path: string; cleanup: () => Promise<void> } | undefined;
  hooks.beforeAll(async () => {
    relay = await startRelayProcess();
    tmp = await tempDir();
  });
  hooks.afterAll(async () => {
    await relay?.stop();
    await tmp?.cleanup();
  });
  return {
    get relay() {
      if (!relay) throw new Error('useRelayWorld: used before beforeAll ran');
      return relay;
    },
    get tmp() {
      if (!tmp) throw new Error('useRelayWorld: used before beforeAll ran');
      return tmp.path;
    },
  };
}

export interface FileTransfer {
  sender: Proc;
  receiver: Proc;
  sc: number | null;
  rc: number | null;
  content: Buffer;
  /** What arrived (undefined when the receiver failed). */
  received: Buffer | undefined;
}

let transfers = 0;
/** A hang detector for a transfer of a few MB: seconds here, up to ~20 s with the machine ten times oversubscribed. */
export const TRANSFER_MS = 90_000;

/** Sends `content` as data.bin from a fresh folder to another with the given extra flags, and waits for both. */
export async function transferFile(
  world: E2eWorld,
  sendArgs: string[],
  receiveArgs: string[],
  content: Buffer,
): Promise<FileTransfer> {
  const dir = join(world.tmp, `transfer${transfers++}`);
  await mkdir(join(dir, 'src'), { recursive: true });
  await mkdir(join(dir, 'dst'), { recursive: true });
  await writeFile(join(dir, 'src', 'data.bin'), content);
  const sender = runPortunus(['send', '--json', '--relay', world.relay.url, ...sendArgs, 'data.bin'], {
    cwd: join(dir, 'src'),
  });
  const code = String((await sender.waitEvent('code')).code);
  const receiver = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, ...receiveArgs, code], {
    cwd: join(dir, 'dst'),
  });
  const [sc, rc] = await Promise.all([exitOf(sender, TRANSFER_MS), exitOf(receiver, TRANSFER_MS)]);
  const received = rc === 0 ? await readFile(join(dir, 'dst', 'data.bin')) : undefined;
  return { sender, receiver, sc, rc, content, received };
}
