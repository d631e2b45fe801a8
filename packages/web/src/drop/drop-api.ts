/**
 * The page's client of the relay's drop API (PROTOCOL.md §11.3), over fetch to the page's own origin (the relay that
 * served it, so the Content-Security-Policy's `connect-src 'self'` allows it and no CORS is involved): the capability
 * check, tus 1.0.0 creation, HEAD and PATCH of an upload, downloads with a lease and Range. It mirrors the CLI's
 * client (cli/src/drop/drop-http.ts): a refusal carries the relay's `Portunus-Error` code and one-line message,
 * anything the relay did not name is RELAY_PROTOCOL, and a request that fails outright is RELAY_UNREACHABLE.
 */
import { createError, isErrorCode, PortunusError } from '@portunus/protocol';

export const TUS_VERSION = '1.0.0';

export interface DropLimits {
  maxBytes: number;
  maxExpirySeconds: number;
  maxDownloads: number;
}

export interface DropDownload {
  /** The stored bytes from the requested offset on. */
  body: ReadableStream<Uint8Array>;
  /** Bytes in `body`. */
  length: number;
  /** Present on a fresh download: the lease that resumes it without taking another download. */
  lease?: string;
  downloadsLeft?: number;
  /** Unix seconds. */
  expires?: number;
}

export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export class DropApi {
  constructor(
    /** The relay's HTTP origin: the page's own (`location.origin`). */
    private readonly origin: string,
    private readonly fetch: Fetch,
    private readonly signal: AbortSignal,
  ) {}

  /** The relay's drop limits, or undefined when it stores no drops (DROPS_DISABLED). */
  async limits(): Promise<DropLimits | undefined> {
    let res: Response;
    try {
      res = await this.request('GET', '/drops');
    } catch (err) {
      if (err instanceof PortunusError && err.code === 'DROPS_DISABLED') return undefined;
      throw err;
    }
    const body = (await res.json().catch(() => ({}))) as Partial<DropLimits>;
    const n = (v: unknown) => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined);
    const [maxBytes, maxExpirySeconds, maxDownloads] = [
      n(body.maxBytes),
      n(body.maxExpirySeconds),
      n(body.maxDownloads),
    ];
    if (maxBytes === undefined || maxExpirySeconds === undefined || maxDownloads === undefined) {
      throw createError('RELAY_PROTOCOL', 'the relay described its drop limits in a form this page does not know');
    }
    return { maxBytes, maxExpirySeconds, maxDownloads };
  }

  /** tus creation: the upload's path and the token its HEAD and PATCH need. */
  async create(args: { id: string; length: number; expires: number; downloads: number }): Promise<{
    path: string;
    token: string;
  }> {
    const meta = (key: string, value: string) => `${key} ${btoa(value)}`;
    const res = await this.request('POST', '/drops', {
      'Tus-Resumable': TUS_VERSION,
      'Upload-Length': String(args.length),
      'Upload-Metadata': [
        meta('id', args.id),
        meta('expires', String(args.expires)),
        meta('downloads', String(args.downloads)),
      ].join(','),
    });
    await res.body?.cancel();
    const location = res.headers.get('location');
    const token = res.headers.get('portunus-upload-token');
    if (location === null || token === null || !/^[0-9a-f]{32}$/.test(token)) {
      throw createError('RELAY_PROTOCOL', 'the relay created the drop without a Location or an upload token');
    }
    return { path: new URL(location, this.origin).pathname, token };
  }

  /** tus HEAD: how much of the upload the relay holds. */
  async offset(path: string, token: string): Promise<number> {
    const res = await this.request('HEAD', path, { 'Tus-Resumable': TUS_VERSION, 'Portunus-Upload-Token': token });
    const offset = Number(res.headers.get('upload-offset'));
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw createError('RELAY_PROTOCOL', 'the relay gave no valid Upload-Offset for the drop');
    }
    return offset;
  }

  /**
   * tus PATCH of `body` at `offset`; resolves with the relay's new offset. The body is a Blob, not a stream:
   * browsers stream a request body only over HTTP/2, and the relay speaks HTTP/1.1, so uploads go in parts.
   */
  async patch(path: string, token: string, offset: number, body: Blob): Promise<number> {
    const res = await this.request(
      'PATCH',
      path,
      {
        'Tus-Resumable': TUS_VERSION,
        'Portunus-Upload-Token': token,
        'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream',
      },
      body,
    );
    await res.body?.cancel();
    const next = Number(res.headers.get('upload-offset'));
    if (!Number.isSafeInteger(next))
      throw createError('RELAY_PROTOCOL', 'the relay gave no Upload-Offset after a PATCH');
    return next;
  }

  /** GET of a drop: a fresh download (takes a slot), or with a lease from stored offset `from` on (takes none). */
  async download(id: string, lease?: { token: string; from: number }): Promise<DropDownload> {
    const headers: Record<string, string> =
      lease === undefined ? {} : { 'Portunus-Lease': lease.token, Range: `bytes=${lease.from}-` };
    const res = await this.request('GET', `/drops/${id}`, headers);
    const expected = lease === undefined ? 200 : 206;
    const length = Number(res.headers.get('content-length'));
    if (res.status !== expected || res.body === null || !Number.isSafeInteger(length)) {
      await res.body?.cancel();
      throw createError('RELAY_PROTOCOL', `the relay answered a download with status ${res.status}`);
    }
    const leaseToken = res.headers.get('portunus-lease');
    const left = Number(res.headers.get('portunus-downloads-left') ?? NaN);
    const expires = Number(res.headers.get('portunus-expires') ?? NaN);
    return {
      body: res.body,
      length,
      ...(leaseToken === null ? {} : { lease: leaseToken }),
      ...(Number.isSafeInteger(left) ? { downloadsLeft: left } : {}),
      ...(Number.isSafeInteger(expires) ? { expires } : {}),
    };
  }

  private async request(method: string, path: string, headers: Record<string, string> = {}, body?: Blob) {
    let res: Response;
    try {
      res = await this.fetch(new URL(path, this.origin).href, {
        method,
        headers,
        cache: 'no-store',
        credentials: 'omit',
        signal: this.signal,
        ...(body === undefined ? {} : { body }),
      });
    } catch (err) {
      if (this.signal.aborted) throw createError('CANCELLED', 'cancelled on this side', { cause: err });
      const message = err instanceof Error ? err.message : String(err);
      throw createError('RELAY_UNREACHABLE', `no connection to the relay: ${message}`, { cause: err });
    }
    if (res.status < 400) return res;
    const text = (await res.text().catch(() => '')).split('\n')[0]!.slice(0, 300);
    throw refusal(res.status, res.headers.get('portunus-error'), text);
  }
}

/** A refusal: the relay's code when it named one of ours, else what the status says. */
function refusal(status: number, code: string | null, text: string): PortunusError {
  const message = text === '' ? `the relay refused (HTTP ${status})` : `the relay refused: ${text}`;
  if (code !== null && isErrorCode(code)) return createError(code, message);
  // A relay that predates drops serves no /drops at all: a 404 without our header.
  if (status === 404 && code === null) return createError('DROPS_DISABLED', 'the relay does not store drops');
  return createError('RELAY_PROTOCOL', `${message} (${code ?? `HTTP ${status}`})`);
}
