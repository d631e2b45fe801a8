/**
 * Relay memory with many idle connections: starts `portunus relay` in a child process, opens N WebSockets that
 * each say hello and claim their own nameplate (a sender waiting for its receiver — the common idle state), and
 * reads the relay's RSS from its own /metrics before and after. Then it closes them and repeats the load a few
 * times (churn): the RSS after each round shows whether memory stays flat once the relay has warmed up. The relay
 * tests assert behaviour only; these figures live here. Run: `node dist/bench/relay-idle.js [N]`.
 *
 * The relay runs from relay/dist/ when this file is bundled and through tsx when it runs from source (tests), so the
 * figure printed by `npm run bench` is the production one.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import WebSocket from 'ws';
import { startedAs } from './entry.js';

export interface RelayIdleResult {
  connections: number;
  /** Relay RSS right after start, bytes. */
  baselineRss: number;
  /** Relay RSS with every connection open and waiting, bytes. */
  rss: number;
  heapUsed: number;
  perConnectionBytes: number;
  /** Relay RSS after each churn round (N connections opened, then all closed), bytes. */
  churnRss: number[];
}

const CHURN_ROUNDS = 5;

const STEP_TIMEOUT_MS = 60_000;

function relayProcess(extraArgs: string[]): ChildProcessByStdio<null, Readable, Readable> {
  const fromSource = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(
    new URL(fromSource ? '../relay/src/main.ts' : '../../relay/dist/main.js', import.meta.url),
  );
  const args = [
    ...(fromSource ? ['--import', 'tsx'] : []),
    main,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--json',
    '--quiet',
    ...extraArgs,
  ];
  return spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`relay-idle: timed out waiting for ${what}`)), STEP_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function listeningUrl(child: ChildProcessByStdio<null, Readable, Readable>): Promise<string> {
  const line = await bounded(
    new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().split('\n')[0]!));
      child.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
    }),
    'the relay to start',
  );
  return (JSON.parse(line) as { url: string }).url;
}

async function relayMemory(url: string): Promise<{ rss: number; heapUsed: number; connections: number }> {
  const text = await bounded(
    fetch(url.replace('ws://', 'http://').replace(/\/v1$/, '/metrics')).then((r) => r.text()),
    '/metrics',
  );
  const value = (name: string): number =>
    Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(`${name} `)) ?? '')?.[2]);
  return {
    rss: value('process_resident_memory_bytes'),
    heapUsed: value('nodejs_heap_size_used_bytes'),
    connections: value('portunus_relay_connections'),
  };
}

/** Opens `connections` waiting clients in batches (so the accept queue never overflows). */
async function openWaiting(url: string, connections: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < connections; i += 100) {
    const batch = Array.from({ length: Math.min(100, connections - i) }, (_, j) => idleClient(url, i + j + 1));
    sockets.push(...(await bounded(Promise.all(batch), 'connections to open')));
  }
  return sockets;
}

/** Closes every socket and waits until the relay reports no connection left. */
async function closeAll(url: string, sockets: WebSocket[]): Promise<void> {
  for (const ws of sockets.splice(0)) ws.terminate();
  await bounded(
    (async () => {
      while ((await relayMemory(url)).connections > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    })(),
    'the relay to see every close',
  );
}

/** Opens one connection that says hello and claims `nameplate`, resolving once the relay confirmed the claim. */
function idleClient(url: string, nameplate: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('error', reject);
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', protocol: 1, agent: 'bench/relay-idle' }));
      ws.send(JSON.stringify({ type: 'claim', nameplate }));
    });
    ws.on('message', (data) => {
      if ((JSON.parse(data.toString()) as { type?: string }).type === 'claimed') resolve(ws);
    });
    ws.on('close', (code) => reject(new Error(`connection ${nameplate} closed with ${code}`)));
  });
}

export async function measureRelayIdle(options: { connections?: number } = {}): Promise<RelayIdleResult> {
  const connections = options.connections ?? 1000;
  const child = relayProcess([
    '--max-connections-per-ip',
    String(connections + 10),
    '--max-connections',
    String(connections + 10),
  ]);
  const sockets: WebSocket[] = [];
  try {
    const url = await listeningUrl(child);
    const baseline = await relayMemory(url);
    sockets.push(...(await openWaiting(url, connections)));
    const loaded = await relayMemory(url);
    const churnRss: number[] = [];
    for (let round = 0; round < CHURN_ROUNDS; round++) {
      await closeAll(url, sockets);
      sockets.push(...(await openWaiting(url, connections)));
      await closeAll(url, sockets);
      churnRss.push((await relayMemory(url)).rss);
    }
    return {
      connections,
      baselineRss: baseline.rss,
      rss: loaded.rss,
      heapUsed: loaded.heapUsed,
      perConnectionBytes: Math.round((loaded.rss - baseline.rss) / connections),
      churnRss,
    };
  } finally {
    for (const ws of sockets) ws.terminate();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null) child.kill('SIGTERM');
    await bounded(exited, 'the relay to exit').catch(() => child.kill('SIGKILL'));
  }
}

export function formatRelayIdle(r: RelayIdleResult): string {
  const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
  return (
    `relay idle: ${r.connections} connections waiting → relay RSS ${mib(r.rss)} MiB ` +
    `(baseline ${mib(r.baselineRss)} MiB, +${(r.perConnectionBytes / 1024).toFixed(1)} KiB per connection, heap ${mib(r.heapUsed)} MiB); ` +
    `RSS after each of ${r.churnRss.length} rounds of opening and closing them: ${r.churnRss.map(mib).join(' → ')} MiB`
  );
}

if (startedAs('relay-idle.js')) {
  const n = Number(process.argv[2] ?? 1000);
  console.log(formatRelayIdle(await measureRelayIdle({ connections: n })));
}
