/**
 * The drop API tests, run once per storage (drops-file.test.ts, drops-s3.test.ts): the same relay behaviour whether
 * the bytes sit in a directory or in a bucket, and whether one relay keeps the records or a shared Redis does.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RelayConfig } from '../src/config.js';
import type { RelayHandle } from '../src/server.js';
import {
  createDrop,
  cutPatch,
  dropBytes,
  eventually,
  newDropId,
  patch,
  readPart,
  sha256,
  TUS,
  uploadOffset,
  received,
} from './drop-client.js';
import { startTestRelay } from './helpers.js';

export interface StorageUnderTest {
  /** A fresh `--storage` value (a new directory, or a new prefix in the test bucket). */
  storage(): Promise<string>;
  env: Record<string, string | undefined>;
  /** Stored objects or files left for drops (bytes and records), to see deletion happen. */
  stored(storage: string): Promise<string[]>;
  /** More relay settings (`redis`), read when each relay starts. */
  config?(): Partial<RelayConfig>;
  /** Before each test: forget what earlier tests left (the shared Redis's drops and counts). */
  reset?(): Promise<void>;
}

const MiB = 1024 * 1024;

export function dropSuite(name: string, under: StorageUnderTest): void {
  describe(`drops on ${name}`, () => {
    const relays: RelayHandle[] = [];
    afterEach(async () => {
      await Promise.all(relays.splice(0).map((r) => r.close(0)));
    });
    beforeEach(async () => {
      await under.reset?.();
    });

    async function start(
      config: Partial<RelayConfig> = {},
      clock?: () => number,
    ): Promise<{ relay: RelayHandle; base: string; storage: string }> {
      const storage = config.storage ?? (await under.storage());
      const relay = await startTestRelay(
        { storage, ...under.config?.(), ...config },
        { env: under.env, ...(clock ? { clock } : {}) },
      );
      relays.push(relay);
      return { relay, base: `http://127.0.0.1:${relay.port}`, storage };
    }

    it('answers the capability check with its limits', async () => {
      const { base } = await start({ dropMaxBytes: 5 * MiB, dropMaxExpiryMs: 3600_000 });
      const res = await fetch(`${base}/drops`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ maxBytes: 5 * MiB, maxExpirySeconds: 3600, maxDownloads: 100 });
    });

    it('resumes a cut-off upload from HEAD, and a cut-off download with its lease and Range', async () => {
      const { base, relay } = await start();
      const data = randomBytes(7 * MiB);
      const id = newDropId();
      const { res, token } = await createDrop(base, { id, expires: '3600', downloads: '1' }, data.length);
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`/drops/${id}`);
      expect(token).toMatch(/^[0-9a-f]{32}$/);

      expect((await patch(base, id, token, 0, data.subarray(0, 2 * MiB))).status).toBe(204);
      await cutPatch(base, id, token, 2 * MiB, data.subarray(2 * MiB), 3 * MiB);
      // Not complete yet: a download is refused.
      const early = await fetch(`${base}/drops/${id}`);
      expect([early.status, early.headers.get('portunus-error')]).toEqual([409, 'DROP_INCOMPLETE']);
      await early.arrayBuffer();
      // As a client resumes: HEAD, then PATCH from there; the relay may still be storing what reached it of the cut
      // PATCH, so the offset can move once under a HEAD (the PATCH then gets 409 and the client asks again).
      const offsets: number[] = [];
      await eventually(async () => {
        const offset = await uploadOffset(base, id, token);
        offsets.push(offset);
        return (await patch(base, id, token, offset, data.subarray(offset))).status === 204;
      }, 'the resumed upload');
      expect(offsets[0]).toBeGreaterThanOrEqual(2 * MiB);
      expect(offsets.at(-1)).toBeLessThanOrEqual(5 * MiB);

      const head = await fetch(`${base}/drops/${id}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(data.length));
      expect(head.headers.get('portunus-downloads-left')).toBe('1');

      const first = await fetch(`${base}/drops/${id}`);
      expect(first.status).toBe(200);
      expect(first.headers.get('content-length')).toBe(String(data.length));
      expect(first.headers.get('portunus-downloads-left')).toBe('0');
      expect(Number(first.headers.get('portunus-expires'))).toBeGreaterThan(Date.now() / 1000 + 3500);
      const lease = first.headers.get('portunus-lease')!;
      expect(lease).toMatch(/^[0-9a-f]{32}$/);
      const part = await readPart(first, MiB);
      const rest = await fetch(`${base}/drops/${id}`, {
        headers: { 'Portunus-Lease': lease, Range: `bytes=${part.length}-` },
      });
      expect(rest.status).toBe(206);
      expect(rest.headers.get('content-range')).toBe(`bytes ${part.length}-${data.length - 1}/${data.length}`);
      const tail = Buffer.from(await rest.arrayBuffer());
      expect(sha256(Buffer.concat([part, tail]))).toBe(sha256(data));

      // Every byte written does not end the lease (they may still be on their way): it serves again, taking no slot.
      const again206 = await fetch(`${base}/drops/${id}`, { headers: { 'Portunus-Lease': lease, Range: 'bytes=0-' } });
      expect(again206.status).toBe(206);
      expect(sha256(Buffer.from(await again206.arrayBuffer()))).toBe(sha256(data));
      expect((await fetch(`${base}/drops/${id}`, { method: 'HEAD' })).status).toBe(200);
      // The receiver says it has everything: the lease ends; the only slot is used: the drop is gone.
      expect((await received(base, id, lease)).status).toBe(204);
      const twice = await received(base, id, lease);
      expect([twice.status, twice.headers.get('portunus-error')]).toEqual([410, 'DROP_GONE']);
      await eventually(async () => (await fetch(`${base}/drops/${id}`, { method: 'HEAD' })).status === 410, 'gone');
      const again = await fetch(`${base}/drops/${id}`, { headers: { 'Portunus-Lease': lease, Range: 'bytes=0-' } });
      expect([again.status, again.headers.get('portunus-error')]).toEqual([410, 'DROP_GONE']);
      const second = await fetch(`${base}/drops/${id}`);
      expect([second.status, second.headers.get('portunus-error')]).toEqual([410, 'DROP_GONE']);
      expect(await second.text()).toMatch(/\n$/);
      const metrics = await relay.metrics();
      expect(metrics).toContain('portunus_relay_drop_uploads_total 1');
      expect(metrics).toContain('portunus_relay_drop_downloads_total 1');
      expect(metrics).toContain('portunus_relay_drops 0');
      expect(metrics).toMatch(/portunus_relay_drop_refusals_total\{code="DROP_GONE"\} [2-9]/);
    });

    it('serves `downloads 3` three times and refuses the fourth; the bytes are deleted after the last', async () => {
      const { base, storage } = await start();
      const data = randomBytes(100_000);
      const id = newDropId();
      await dropBytes(base, id, data, { downloads: '3' });
      const lefts: (string | null)[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${base}/drops/${id}`);
        expect(res.status).toBe(200);
        lefts.push(res.headers.get('portunus-downloads-left'));
        expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(data));
        expect((await received(base, id, res.headers.get('portunus-lease'))).status).toBe(204);
      }
      expect(lefts).toEqual(['2', '1', '0']);
      const fourth = await fetch(`${base}/drops/${id}`);
      expect([fourth.status, fourth.headers.get('portunus-error')]).toEqual([410, 'DROP_GONE']);
      await eventually(async () => !(await under.stored(storage)).some((n) => n.endsWith(id)), 'the bytes deleted');
    });

    it('keeps a drop, its slots and its expiry across a restart', async () => {
      const first = await start();
      const data = randomBytes(200_000);
      const id = newDropId();
      await dropBytes(first.base, id, data, { downloads: '2', expires: '600' });
      const one = await fetch(`${first.base}/drops/${id}`);
      const expires = one.headers.get('portunus-expires');
      await one.arrayBuffer();
      await first.relay.close();
      const second = await start({ storage: first.storage });
      const two = await fetch(`${second.base}/drops/${id}`);
      expect(two.status).toBe(200);
      expect(two.headers.get('portunus-downloads-left')).toBe('0');
      expect(two.headers.get('portunus-expires')).toBe(expires);
      expect(sha256(Buffer.from(await two.arrayBuffer()))).toBe(sha256(data));
    });

    it('deletes a drop at expiry and an upload abandoned for an hour (fake clock, short sweep interval)', async () => {
      let now = Date.now();
      const { base, storage } = await start({ dropSweepIntervalMs: 20 }, () => now);
      const expiring = newDropId();
      await dropBytes(base, expiring, randomBytes(1000), { expires: '60', downloads: '5' });
      const abandoned = newDropId();
      const { token } = await createDrop(base, { id: abandoned, expires: '86400' }, 5000);
      expect((await patch(base, abandoned, token, 0, randomBytes(1000))).status).toBe(204);
      expect((await fetch(`${base}/drops/${expiring}`, { method: 'HEAD' })).status).toBe(200);

      now += 61_000;
      const late = await fetch(`${base}/drops/${expiring}`);
      expect([late.status, late.headers.get('portunus-error')]).toEqual([404, 'DROP_NOT_FOUND']);
      await eventually(async () => !(await under.stored(storage)).some((n) => n.includes(expiring)), 'expiry sweep');
      expect(await uploadOffset(base, abandoned, token)).toBe(1000);

      now += 3600_000;
      await eventually(async () => !(await under.stored(storage)).some((n) => n.includes(abandoned)), 'idle upload');
      const head = await fetch(`${base}/drops/${abandoned}`, {
        method: 'HEAD',
        headers: { ...TUS, 'Portunus-Upload-Token': token },
      });
      expect([head.status, head.headers.get('portunus-error')]).toEqual([404, 'DROP_NOT_FOUND']);
    });

    it('ends a lease idle for an hour; a download cut then cannot resume, and its used slot deletes the drop', async () => {
      let now = Date.now();
      const { base, storage } = await start({ dropSweepIntervalMs: 20 }, () => now);
      const data = randomBytes(3 * MiB);
      const id = newDropId();
      await dropBytes(base, id, data);
      const first = await fetch(`${base}/drops/${id}`);
      const lease = first.headers.get('portunus-lease')!;
      const part = await readPart(first, 64 * 1024);
      const beyond = await fetch(`${base}/drops/${id}`, {
        headers: { 'Portunus-Lease': lease, Range: `bytes=${data.length}-` },
      });
      expect([beyond.status, beyond.headers.get('portunus-error')]).toEqual([416, 'RANGE_NOT_SATISFIABLE']);
      expect(beyond.headers.get('content-range')).toBe(`bytes */${data.length}`);
      // Within the hour the lease resumes.
      now += 30 * 60_000;
      const resumed = await fetch(`${base}/drops/${id}`, {
        headers: { 'Portunus-Lease': lease, Range: `bytes=${part.length}-` },
      });
      expect(resumed.status).toBe(206);
      await readPart(resumed, 64 * 1024);
      const relay = relays.at(-1)!;
      await eventually(async () => (await relay.metrics()).includes('portunus_relay_drop_downloads_sending 0'), 'cut');
      now += 3600_000 + 1000;
      await eventually(async () => !(await under.stored(storage)).some((n) => n.endsWith(id)), 'the bytes deleted');
      const late = await fetch(`${base}/drops/${id}`, {
        headers: { 'Portunus-Lease': lease, Range: `bytes=${part.length}-` },
      });
      expect([late.status, late.headers.get('portunus-error')]).toEqual([410, 'DROP_GONE']);
    });

    it('refuses with the contract codes', async () => {
      const { base, relay } = await start({
        dropMaxBytes: 10_000,
        dropTotalBytes: 25_000,
        dropPerAddress: 3,
        dropBytesPerAddress: 18_000,
        dropMaxExpiryMs: 3600_000,
      });
      const code = (res: Response): [number, string | null] => [res.status, res.headers.get('portunus-error')];
      const bad: Record<string, string>[] = [
        { id: 'ABC' },
        { id: newDropId().toUpperCase() },
        { id: newDropId(), expires: '3601' },
        { id: newDropId(), expires: '0' },
        { id: newDropId(), downloads: '101' },
        { id: newDropId(), downloads: '1.5' },
      ];
      for (const fields of bad)
        expect(code((await createDrop(base, fields, 100)).res), JSON.stringify(fields)).toEqual([400, 'BAD_REQUEST']);
      const malformed = await fetch(`${base}/drops`, {
        method: 'POST',
        headers: { ...TUS, 'Upload-Length': '100', 'Upload-Metadata': 'id !!!' },
      });
      expect(code(malformed)).toEqual([400, 'BAD_REQUEST']);
      const noLength = await fetch(`${base}/drops`, {
        method: 'POST',
        headers: { ...TUS, 'Upload-Metadata': `id ${Buffer.from(newDropId()).toString('base64')}` },
      });
      expect(code(noLength)).toEqual([400, 'BAD_REQUEST']);
      expect(code((await createDrop(base, { id: newDropId() }, 10_001)).res)).toEqual([413, 'DROP_TOO_LARGE']);

      const id = newDropId();
      const { token } = await createDrop(base, { id }, 9_000);
      expect(code((await createDrop(base, { id }, 100)).res)).toEqual([409, 'DROP_EXISTS']);
      // Per address: bytes (9,000 + 9,001 > 18,000), then the number of drops.
      expect(code((await createDrop(base, { id: newDropId() }, 9_001)).res)).toEqual([429, 'DROP_QUOTA']);
      await createDrop(base, { id: newDropId() }, 100);
      await createDrop(base, { id: newDropId() }, 100);
      expect(code((await createDrop(base, { id: newDropId() }, 100)).res)).toEqual([429, 'DROP_QUOTA']);
      expect(code((await createDrop(base, { id: newDropId() }, 100)).res)).toEqual([429, 'DROP_QUOTA']);
      expect(code(await patch(base, id, newDropId(), 0, Buffer.alloc(1)))).toEqual([400, 'BAD_REQUEST']);
      expect(code(await fetch(`${base}/drops/${newDropId()}`))).toEqual([404, 'DROP_NOT_FOUND']);
      expect(code(await fetch(`${base}/drops/not-an-id`))).toEqual([404, 'DROP_NOT_FOUND']);
      expect(code(await fetch(`${base}/drops/${id}`, { method: 'DELETE' }))).toEqual([400, 'BAD_REQUEST']);
      // tus's own refusals carry a code too: a PATCH at the wrong offset.
      const wrongOffset = await patch(base, id, token, 5, Buffer.alloc(10));
      expect(wrongOffset.status).toBe(409);
      expect(wrongOffset.headers.get('portunus-error')).toBe('BAD_REQUEST');
      expect(await relay.metrics()).toContain('portunus_relay_drop_refusals_total{code="DROP_QUOTA"} 3');
    });

    it('counts quotas per client address (through a trusted proxy) and the total for all', async () => {
      const { base } = await start({ dropTotalBytes: 25_000, dropBytesPerAddress: 10_000, trustProxy: true });
      const from = (address: string): Record<string, string> => ({ 'X-Forwarded-For': address });
      const status = async (address: string): Promise<[number, string | null]> => {
        const { res } = await createDrop(base, { id: newDropId() }, 9_000, from(address));
        return [res.status, res.headers.get('portunus-error')];
      };
      expect(await status('192.0.2.1')).toEqual([201, null]);
      expect(await status('192.0.2.1')).toEqual([429, 'DROP_QUOTA']);
      expect(await status('192.0.2.2')).toEqual([201, null]);
      expect(await status('192.0.2.3')).toEqual([507, 'DROP_STORAGE_FULL']);
    });
  });
}
