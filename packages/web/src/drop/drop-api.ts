/**
 * The page's client of the relay's drop API (PROTOCOL.md §11.3), over fetch to the page's own origin (the relay that
 * served it, so the Content-Security-Policy's `connect-src 'self'` allows it and no CORS is involved): the capability
 * check, tus 1.0.0 creation, HEAD and PATCH of an upload, downloads with a lease and Range. It mirrors the CLI's
 * client (cli/src/drop/drop-http.ts): a refusal carries the relay's `Portunus-Error` code and one-line message,
 * anything the relay did not name is RELAY_PROTOCOL, and a request that fails outright is RELAY_UNREACHABLE.
 */
import {
  createError,
  type DropDownloadHead,
  type DropLimits,
  dropRefusal,
  dropUploadMetadata,
  type HeaderOf,
  parseDropCreated,
  parseDropDownload,
  parseDropLimits,
  parseUploadOffset,
  PortunusError,
  TUS_VERSION,
} from '@portunus/protocol';

export type { DropLimits } from '@portunus/protocol';

export interface DropDownload extends DropDownloadHead {
  /** The stored bytes from the requested offset on. */
  body: ReadableStream<Uint8Array>;
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
    return parseDropLimits(await res.json().catch(() => undefined));
  }

  /** tus creation: the upload's path and the token its HEAD and PATCH need. */
  async create(args: { id: string; length: number; expires: number; downloads: number }): Promise<{
    path: string;
    token: string;
  }> {
    const res = await this.request('POST', '/drops', {
      'Tus-Resumable': TUS_VERSION,
      'Upload-Length': String(args.length),
      'Upload-Metadata': dropUploadMetadata(args),
    });
    await res.body?.cancel();
    return parseDropCreated(headerOf(res), this.origin);
  }

  /** tus HEAD: how much of the upload the relay holds. */
  async offset(path: string, token: string): Promise<number> {
    const res = await this.request('HEAD', path, { 'Tus-Resumable': TUS_VERSION, 'Portunus-Upload-Token': token });
    return parseUploadOffset(headerOf(res));
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
    return parseUploadOffset(headerOf(res));
  }

  /** GET of a drop: a fresh download (takes a slot), or with a lease from stored offset `from` on (takes none). */
  async download(id: string, lease?: { token: string; from: number }): Promise<DropDownload> {
    const headers: Record<string, string> =
      lease === undefined ? {} : { 'Portunus-Lease': lease.token, Range: `bytes=${lease.from}-` };
    const res = await this.request('GET', `/drops/${id}`, headers);
    let head: DropDownloadHead;
    try {
      head = parseDropDownload(res.status, lease !== undefined, headerOf(res));
      if (res.body === null) throw createError('RELAY_PROTOCOL', 'the relay sent a download without a body');
    } catch (err) {
      await res.body?.cancel();
      throw err;
    }
    return { body: res.body, ...head };
  }

  /** Tells the relay the drop arrived whole and checked: the download's lease ends (PROTOCOL.md §11.3). */
  async received(id: string, lease: string): Promise<void> {
    await this.request('DELETE', `/drops/${id}`, { 'Portunus-Lease': lease });
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
    throw dropRefusal(res.status, res.headers.get('portunus-error') ?? undefined, await res.text().catch(() => ''));
  }
}

function headerOf(res: Response): HeaderOf {
  return (name) => res.headers.get(name) ?? undefined;
}
