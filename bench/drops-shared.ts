/**
 * What sharing drops through Redis (`--redis`, relay/src/shared-drops.ts) costs: the same drops (create, one PATCH,
 * one download, then the receiver's confirmation) through one in-process relay alone and through one whose records
 * live in a real redis-server, rounds alternating, both on a directory. Figures: this process's CPU per drop (relay and client; the client's work
 * is the same in both), redis-server's own CPU per drop, and Redis commands per drop (INFO commandstats).
 * Run: `node dist/bench/drops-shared.js [drops]`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRelay } from '../relay/src/server.js';
import { redisMissing, startLocalRedis } from '../test/redis/redis-server.js';
import { startedAs } from './entry.js';

export interface DropsSharedResult {
  drops: number;
  bytes: number;
  /** CPU (user + system) of this process per drop, microseconds. */
  aloneCpuUs: number;
  sharedCpuUs: number;
  /** redis-server's CPU per drop, microseconds. */
  redisCpuUs: number;
  redisCommandsPerDrop: number;
}

const ROUNDS = 3;
const TUS = { 'Tus-Resumable': '1.0.0' };

async function oneDrop(base: string, data: Buffer): Promise<void> {
  const id = randomBytes(16).toString('hex');
  const created = await fetch(`${base}/drops`, {
    method: 'POST',
    headers: {
      ...TUS,
      'Upload-Length': String(data.length),
      'Upload-Metadata': `id ${Buffer.from(id).toString('base64')}`,
    },
  });
  await created.arrayBuffer();
  if (created.status !== 201) throw new Error(`create: ${created.status} ${created.headers.get('portunus-error')}`);
  const token = created.headers.get('portunus-upload-token') ?? '';
  const patched = await fetch(`${base}/drops/${id}`, {
    method: 'PATCH',
    headers: {
      ...TUS,
      'Upload-Offset': '0',
      'Content-Type': 'application/offset+octet-stream',
      'Portunus-Upload-Token': token,
    },
    body: data,
  });
  await patched.arrayBuffer();
  if (patched.status !== 204) throw new Error(`upload: ${patched.status} ${patched.headers.get('portunus-error')}`);
  const got = await fetch(`${base}/drops/${id}`);
  if ((await got.arrayBuffer()).byteLength !== data.length) throw new Error(`download: ${got.status}`);
  // As a receiver does once it has every byte checked (PROTOCOL.md §11.3): the drop's last download ends, and the
  // drop with it. Without this each drop stays an hour, and the rounds after the first ran into the quota.
  const done = await fetch(`${base}/drops/${id}`, {
    method: 'DELETE',
    headers: { 'Portunus-Lease': got.headers.get('portunus-lease') ?? '' },
  });
  await done.arrayBuffer();
  if (done.status !== 204) throw new Error(`confirm: ${done.status} ${done.headers.get('portunus-error')}`);
}

async function redisFigures(admin: Redis): Promise<{ cpuUs: number; calls: number }> {
  const cpu = await admin.info('cpu');
  const seconds = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(cpu)?.[1] ?? 0);
  const stats = await admin.info('commandstats');
  // The INFO calls made here are left out.
  let calls = 0;
  for (const m of stats.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) if (m[1] !== 'info') calls += Number(m[2]);
  return { cpuUs: (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6, calls };
}

export async function runDropsShared(opts: { drops: number; bytes: number }): Promise<DropsSharedResult | string> {
  const missing = redisMissing();
  if (missing !== undefined) return missing;
  const redis = await startLocalRedis();
  const admin = new Redis(redis.url);
  const dir = await mkdtemp(join(tmpdir(), 'portunus-bench-drops-'));
  const data = randomBytes(opts.bytes);
  const totals = { alone: 0, shared: 0, redisCpu: 0, calls: 0 };
  try {
    for (let round = 0; round < ROUNDS * 2; round++) {
      const shared = round % 2 === 1;
      const relay = await startRelay({
        host: '127.0.0.1',
        port: 0,
        storage: join(dir, String(round)),
        dropPerAddress: opts.drops + 1,
        ...(shared ? { redis: redis.url } : {}),
      });
      const base = `http://127.0.0.1:${relay.port}`;
      await oneDrop(base, data); // warm-up, not counted
      const before = { cpu: process.cpuUsage(), redis: await redisFigures(admin) };
      for (let i = 0; i < opts.drops; i++) await oneDrop(base, data);
      const cpu = process.cpuUsage(before.cpu);
      const after = await redisFigures(admin);
      await relay.close(0);
      if (shared) {
        totals.shared += cpu.user + cpu.system;
        totals.redisCpu += after.cpuUs - before.redis.cpuUs;
        totals.calls += after.calls - before.redis.calls;
      } else totals.alone += cpu.user + cpu.system;
    }
  } finally {
    admin.disconnect();
    await redis.close();
    await rm(dir, { recursive: true, force: true });
  }
  const per = (total: number): number => total / (ROUNDS * opts.drops);
  return {
    drops: opts.drops,
    bytes: opts.bytes,
    aloneCpuUs: per(totals.alone),
    sharedCpuUs: per(totals.shared),
    redisCpuUs: per(totals.redisCpu),
    redisCommandsPerDrop: per(totals.calls),
  };
}

export function formatDropsShared(result: DropsSharedResult | string): string[] {
  if (typeof result === 'string') return [`drops through Redis: skipped (${result})`];
  const ms = (us: number): string => `${(us / 1000).toFixed(2)} ms`;
  return [
    `${result.drops} drops of ${result.bytes / 1024} KiB (create, PATCH, download, confirm), ${ROUNDS} rounds each way:`,
    `  CPU per drop, relay + client: alone ${ms(result.aloneCpuUs)}, records in Redis ${ms(result.sharedCpuUs)}` +
      ` (×${(result.sharedCpuUs / result.aloneCpuUs).toFixed(2)})`,
    `  redis-server CPU per drop ${ms(result.redisCpuUs)}, ${result.redisCommandsPerDrop.toFixed(1)} commands per drop` +
      ' (those run inside its scripts included)',
  ];
}

if (startedAs('drops-shared.js')) {
  const drops = Number(process.argv[2] ?? 200);
  for (const line of formatDropsShared(await runDropsShared({ drops, bytes: 256 * 1024 }))) console.log(line);
}
