/**
 * The drop API on the relay's port, under `/drops` (PROTOCOL.md §11.3). Uploads are the tus protocol, served by
 * @tus/server over the storage's tus store; this file checks everything first (the request, the limits, the
 * upload token) and answers the rest itself: the capability check and downloads with slots, leases and ranges.
 * Bodies stream both ways; nothing is buffered beyond the streams' own high-water marks.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import { Server as TusServer, type Locker } from '@tus/server';
import { clientAddress, addressKey, type ProxyTrust } from './address.js';
import { DROP_ID, type DropRecord } from './drop-record.js';
import { DropRefusal, refusalCodeForStatus, sendRefusal, type DropRefusalCode } from './drop-refusal.js';
import { parseDropRequest, parseRangeStart, tokenHeader } from './drop-request.js';
import type { DropBook } from './drop-book.js';
import type { Logger } from './logger.js';

export const DROPS_PATH = '/drops';
/** A PATCH whose body stops arriving for this long is cut (the client resumes with HEAD). */
const UPLOAD_IDLE_SOCKET_MS = 60_000;

export interface DropHttpOptions {
  trust: ProxyTrust | undefined;
  logger: Logger;
  /** Every refusal, by code (metrics). */
  refused(code: DropRefusalCode): void;
  /** The relay is shutting down: no new drops. */
  draining(): boolean;
}

export function isDropsPath(path: string): boolean {
  return path === DROPS_PATH || path.startsWith(`${DROPS_PATH}/`);
}

export class DropHttp {
  private drops: DropBook | undefined;
  private tus: TusServer | undefined;
  /** Requests being answered (uploads and downloads under way), which a shutdown lets finish within its drain. */
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  /** Until `enable`, every request is answered DROPS_DISABLED. */
  constructor(private readonly options: DropHttpOptions) {}

  /** Serves `drops` (once its storage is open); `locker`: the tus upload lock instances share (redis-locker.ts). */
  enable(drops: DropBook, locker?: Locker): void {
    const storage = drops.storage;
    const prefix = storage.uploadKey('');
    this.drops = drops;
    this.tus = new TusServer({
      path: DROPS_PATH,
      datastore: storage.uploads,
      maxSize: drops.capabilities().maxBytes,
      ...(locker === undefined ? {} : { locker }),
      namingFunction: (_req, metadata) => storage.uploadKey(metadata?.id ?? ''),
      getFileIdFromRequest: (_req, last) => (last !== undefined && DROP_ID.test(last) ? storage.uploadKey(last) : ''),
      generateUrl: (_req, { id }) => `${DROPS_PATH}/${id.slice(prefix.length)}`,
      exposedHeaders: ['Portunus-Upload-Token', 'Portunus-Error'],
      allowedHeaders: ['Portunus-Upload-Token'],
      onUploadFinish: async (_req, upload) => {
        await drops.uploaded(upload.id.slice(prefix.length)).catch((err: unknown) => {
          // tus answers with an error's status_code and body: a refusal keeps its status (and so its code).
          if (err instanceof DropRefusal) throw { status_code: err.status, body: `${err.message}\n` };
          throw err;
        });
        return {};
      },
    });
  }

  /** Resolves once no request is being answered, after `ms`, or when `cut` resolves, whichever comes first. */
  waitUntilIdle(ms: number, cut?: Promise<void>): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.idleWaiters.push(done);
      void cut?.then(done);
    });
  }

  handle(req: IncomingMessage, res: ServerResponse, path: string): void {
    const head = req.method === 'HEAD';
    this.active += 1;
    // Done once the response has closed AND the route settled: a record write a request started (a lease ended) is
    // queued after the response finished, and a shutdown flushes the writes only once no request is active.
    let open = 2;
    const release = () => {
      if (--open > 0) return;
      this.active -= 1;
      if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    };
    res.once('close', release);
    this.route(req, res, path)
      .catch((err: unknown) => {
        const refusal =
          err instanceof DropRefusal ? err : new DropRefusal('INTERNAL', 'the drop storage failed; try again later');
        if (!(err instanceof DropRefusal))
          this.options.logger.error('drop request failed', { error: err instanceof Error ? err.message : 'unknown' });
        this.refuse(res, refusal, head);
      })
      .finally(release);
  }

  private refuse(res: ServerResponse, refusal: DropRefusal, head: boolean): void {
    this.options.refused(refusal.code);
    sendRefusal(res, refusal, head);
  }

  private async route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const drops = this.drops;
    if (drops === undefined) throw new DropRefusal('DROPS_DISABLED', 'this relay stores no drops');
    const method = req.method ?? '';
    if (method === 'OPTIONS') return this.toTus(req, res);
    if (path === DROPS_PATH) {
      if (method === 'GET' || method === 'HEAD') return sendJson(res, drops.capabilities(), method === 'HEAD');
      if (method === 'POST') return this.create(drops, req, res);
      throw new DropRefusal('BAD_REQUEST', `${method} is not allowed on ${DROPS_PATH}`);
    }
    const id = path.slice(DROPS_PATH.length + 1);
    if (!DROP_ID.test(id)) throw new DropRefusal('DROP_NOT_FOUND', 'no such drop');
    const uploadToken = tokenHeader(req.headers, 'portunus-upload-token');
    if (method === 'PATCH' || (method === 'HEAD' && uploadToken !== undefined))
      return this.upload(drops, id, uploadToken, req, res);
    if (method === 'GET' || method === 'HEAD') return this.download(drops, id, req, res);
    if (method === 'DELETE') return this.received(drops, id, req, res);
    throw new DropRefusal('BAD_REQUEST', `${method} is not allowed on a drop`);
  }

  private async create(drops: DropBook, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.options.draining()) throw new DropRefusal('RELAY_SHUTDOWN', 'the relay is shutting down');
    const request = parseDropRequest(req.headers, drops.capabilities().maxExpirySeconds);
    req.setTimeout(UPLOAD_IDLE_SOCKET_MS, () => req.destroy());
    const token = await drops.create({
      id: request.id,
      length: request.length,
      expiresMs: request.expiresSeconds * 1000,
      downloads: request.downloads,
      address: addressKey(clientAddress(req, this.options.trust)),
    });
    res.setHeader('Portunus-Upload-Token', token);
    try {
      await this.toTus(req, res);
    } finally {
      if (res.statusCode !== 201) await drops.abandon(request.id);
    }
  }

  private async upload(
    drops: DropBook,
    id: string,
    token: string | undefined,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const record = await drops.find(id);
    if (record === undefined || record.gone) throw new DropRefusal('DROP_NOT_FOUND', 'no such drop');
    if (token === undefined || !drops.uploadTokenMatches(record, token))
      throw new DropRefusal('BAD_REQUEST', 'wrong or missing Portunus-Upload-Token');
    if (req.method === 'PATCH') {
      const patch = await drops.patchStarted(record);
      res.once('close', patch.done);
      req.setTimeout(UPLOAD_IDLE_SOCKET_MS, () => req.destroy());
    }
    await this.toTus(req, res);
  }

  /** Hands the request to @tus/server; its failures get a Portunus-Error too (every failure carries one). */
  private async toTus(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const writeHead = res.writeHead.bind(res) as (status: number, ...rest: unknown[]) => ServerResponse;
    const refused = this.options.refused;
    (res as { writeHead: unknown }).writeHead = (status: number, ...rest: unknown[]): ServerResponse => {
      if (status >= 400) {
        const code = refusalCodeForStatus(status);
        refused(code);
        res.setHeader('Portunus-Error', code);
        res.removeHeader('Portunus-Upload-Token');
      }
      return writeHead(status, ...rest);
    };
    await this.tus!.handle(req, res);
  }

  private async download(drops: DropBook, id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const found = await drops.find(id);
    if (found === undefined) throw new DropRefusal('DROP_NOT_FOUND', 'no such drop, or it expired');
    const record = found.complete ? found : await drops.settled(found);
    if (record.gone) throw new DropRefusal('DROP_GONE', 'every download of this drop has been used');
    if (!record.complete) throw new DropRefusal('DROP_INCOMPLETE', 'the upload of this drop is not complete');
    const headers: OutgoingHttpHeaders = {
      'content-type': 'application/octet-stream',
      'cache-control': 'no-store',
      'accept-ranges': 'bytes',
      'portunus-expires': Math.floor(record.expiresAt / 1000),
    };
    if (req.method === 'HEAD') {
      res.writeHead(200, {
        ...headers,
        'content-length': record.length,
        'portunus-downloads-left': record.downloads - record.used,
      });
      res.end();
      return;
    }
    const leaseToken = tokenHeader(req.headers, 'portunus-lease');
    if (leaseToken === undefined) {
      if (record.used >= record.downloads)
        throw new DropRefusal('DROP_GONE', 'every download of this drop has been used');
      // The bytes are opened before the slot is taken: a storage failure costs the receiver no download.
      const body = await drops.storage.read(record.id, 0);
      const slot = await drops.takeSlot(record).catch((err: unknown) => {
        body.destroy();
        throw err;
      });
      headers['portunus-lease'] = slot.lease;
      headers['portunus-downloads-left'] = slot.left;
      headers['content-length'] = record.length;
      return this.stream(drops, record, slot.leaseHash, body, 200, headers, res);
    }
    const range = parseRangeStart(req.headers);
    const start = range ?? 0;
    const lease = await drops.lease(record, leaseToken);
    if (start >= record.length) {
      res.setHeader('Content-Range', `bytes */${record.length}`);
      throw new DropRefusal('RANGE_NOT_SATISFIABLE', `the drop holds ${record.length} bytes`);
    }
    headers['portunus-downloads-left'] = record.downloads - record.used;
    headers['content-length'] = record.length - start;
    if (range !== undefined) headers['content-range'] = `bytes ${start}-${record.length - 1}/${record.length}`;
    const body = await drops.storage.read(record.id, start);
    return this.stream(drops, record, lease.hash, body, range === undefined ? 200 : 206, headers, res);
  }

  /**
   * `DELETE /drops/<id>` under a lease: the receiver has every byte and checked them, so the lease ends now (and with
   * the last one, the bytes go). Until then a lease outlives its last byte written: bytes still in buffers on the
   * way (a proxy's, the kernel's) when a receiver dies are fetched again under the same lease, taking no download.
   */
  private async received(drops: DropBook, id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = tokenHeader(req.headers, 'portunus-lease');
    if (token === undefined) throw new DropRefusal('BAD_REQUEST', 'missing Portunus-Lease');
    const record = await drops.find(id);
    if (record === undefined) throw new DropRefusal('DROP_NOT_FOUND', 'no such drop, or it expired');
    const lease = await drops.lease(record, token);
    await drops.leaseDone(record, lease.hash);
    res.writeHead(204, { 'cache-control': 'no-store' });
    res.end();
  }

  /** Sends the stored bytes; the lease stays open LEASE_IDLE_MS after the response, or until the receiver's DELETE. */
  private stream(
    drops: DropBook,
    record: DropRecord,
    leaseHash: string,
    body: Readable,
    status: number,
    headers: OutgoingHttpHeaders,
    res: ServerResponse,
  ): Promise<void> {
    drops.streamStarted(record, leaseHash);
    res.writeHead(status, headers);
    return new Promise<void>((resolve) => {
      pipeline(body, res, () => {
        drops.leaseSeen(record, leaseHash);
        resolve();
      });
    });
  }
}

function sendJson(res: ServerResponse, value: unknown, head: boolean): void {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : body);
}
