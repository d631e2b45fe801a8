/**
 * The CLI's client of a relay's drop API (PROTOCOL.md §11.3), over undici: the capability check, tus 1.0.0 creation,
 * HEAD and PATCH of an upload, and downloads with a lease and Range. A refusal carries the relay's
 * `Portunus-Error` code and one-line message; anything the relay did not name becomes RELAY_PROTOCOL, and a
 * connection that fails, RELAY_UNREACHABLE (or a TLS error, as for the WebSocket client).
 */
import { rootCertificates } from 'node:tls';
import { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { createError, isErrorCode, PortunusError } from '@portunus/protocol';
import { relayEndpoint } from '../relay-client/endpoint.js';
import { relayTls } from '../relay-client/tls.js';

export const TUS_VERSION = '1.0.0';

export interface DropLimits {
  maxBytes: number;
  maxExpirySeconds: number;
  maxDownloads: number;
}

export interface Download {
  /** The stored bytes from the requested offset on. */
  body: AsyncIterable<Uint8Array>;
  /** Bytes in `body`. */
  length: number;
  /** Present on a fresh download: the lease that resumes it. */
  lease?: string;
  downloadsLeft?: number;
  /** Unix seconds. */
  expires?: number;
  /** Stops reading `body` (a resume asks again from another offset). */
  cancel(): void;
}

/** The relay's HTTP origin for its relay URL: http:// for ws://, https:// for wss://, same host and port. */
export function dropOrigin(relayUrl: string): string {
  const ws = relayEndpoint(relayUrl);
  return `${ws.protocol === 'wss:' ? 'https:' : 'http:'}//${ws.host}`;
}

export class DropHttp {
  readonly origin: string;
  readonly #agent: Agent;
  readonly #endpoint: URL;
  readonly #ca: readonly string[] | undefined;
  readonly #signal: AbortSignal;

  /** `stallMs`: how long a response may keep silent (headers or body) before it fails. */
  constructor(relayUrl: string, ca: readonly string[] | undefined, signal: AbortSignal, stallMs: number) {
    this.origin = dropOrigin(relayUrl);
    this.#endpoint = relayEndpoint(relayUrl);
    this.#ca = ca;
    this.#signal = signal;
    this.#agent = new Agent({
      headersTimeout: stallMs,
      bodyTimeout: stallMs,
      ...(ca === undefined ? {} : { connect: { ca: [...rootCertificates, ...ca] } }),
    });
  }

  async limits(): Promise<DropLimits> {
    const res = await this.#request('GET', '/drops');
    const body = (await res.body.json()) as Partial<DropLimits>;
    const n = (v: unknown) => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined);
    const [maxBytes, maxExpirySeconds, maxDownloads] = [
      n(body.maxBytes),
      n(body.maxExpirySeconds),
      n(body.maxDownloads),
    ];
    if (maxBytes === undefined || maxExpirySeconds === undefined || maxDownloads === undefined) {
      throw createError('RELAY_PROTOCOL', 'the relay described its drop limits in a form this client does not know');
    }
    return { maxBytes, maxExpirySeconds, maxDownloads };
  }

  /** tus creation: returns the upload's path and the token its HEAD and PATCH need. */
  async create(args: { id: string; length: number; expires: number; downloads: number }): Promise<{
    path: string;
    token: string;
  }> {
    const meta = (key: string, value: string) => `${key} ${Buffer.from(value).toString('base64')}`;
    const res = await this.#request('POST', '/drops', {
      'tus-resumable': TUS_VERSION,
      'upload-length': String(args.length),
      'upload-metadata': [
        meta('id', args.id),
        meta('expires', String(args.expires)),
        meta('downloads', String(args.downloads)),
      ].join(','),
    });
    await res.body.dump();
    const location = header(res, 'location');
    const token = header(res, 'portunus-upload-token');
    if (location === undefined || token === undefined || !/^[0-9a-f]{32}$/.test(token)) {
      throw createError('RELAY_PROTOCOL', 'the relay created the drop without a Location or an upload token');
    }
    return { path: new URL(location, this.origin).pathname, token };
  }

  /** tus HEAD: how much of the upload the relay holds. */
  async offset(path: string, token: string): Promise<{ offset: number; length: number }> {
    const res = await this.#request('HEAD', path, { 'tus-resumable': TUS_VERSION, 'portunus-upload-token': token });
    await res.body.dump();
    const offset = Number(header(res, 'upload-offset'));
    const length = Number(header(res, 'upload-length'));
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || offset > length) {
      throw createError('RELAY_PROTOCOL', 'the relay gave no valid Upload-Offset for the drop');
    }
    return { offset, length };
  }

  /** tus PATCH of `length` bytes at `offset`; resolves with the relay's new offset. */
  async patch(
    path: string,
    token: string,
    offset: number,
    length: number,
    body: AsyncIterable<Uint8Array>,
  ): Promise<number> {
    const res = await this.#request(
      'PATCH',
      path,
      {
        'tus-resumable': TUS_VERSION,
        'portunus-upload-token': token,
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
        'content-length': String(length),
      },
      Readable.from(body, { objectMode: false }),
    );
    await res.body.dump();
    const next = Number(header(res, 'upload-offset'));
    if (!Number.isSafeInteger(next))
      throw createError('RELAY_PROTOCOL', 'the relay gave no Upload-Offset after a PATCH');
    return next;
  }

  /** GET of a drop: a fresh download (takes a slot), or with a lease from stored offset `from` on (takes none). */
  async download(id: string, lease?: { token: string; from: number }): Promise<Download> {
    const headers: Record<string, string> =
      lease === undefined ? {} : { 'portunus-lease': lease.token, range: `bytes=${lease.from}-` };
    const res = await this.#request('GET', `/drops/${id}`, headers);
    const expected = lease === undefined ? 200 : 206;
    if (res.statusCode !== expected) {
      res.body.destroy();
      throw createError('RELAY_PROTOCOL', `the relay answered a download with status ${res.statusCode}`);
    }
    const length = Number(header(res, 'content-length'));
    if (!Number.isSafeInteger(length)) {
      res.body.destroy();
      throw createError('RELAY_PROTOCOL', 'the relay sent a drop without Content-Length');
    }
    const leaseToken = header(res, 'portunus-lease');
    const left = Number(header(res, 'portunus-downloads-left'));
    const expires = Number(header(res, 'portunus-expires'));
    return {
      body: res.body,
      length,
      ...(leaseToken === undefined ? {} : { lease: leaseToken }),
      ...(Number.isSafeInteger(left) ? { downloadsLeft: left } : {}),
      ...(Number.isSafeInteger(expires) ? { expires } : {}),
      cancel: () => res.body.destroy(),
    };
  }

  /** Whether the relay serves the page at `/` (then a drop's link opens it there); any failure says no. */
  async servesPage(): Promise<boolean> {
    try {
      const res = await request(new URL('/', this.origin), {
        method: 'HEAD',
        dispatcher: this.#agent,
        signal: this.#signal,
      });
      await res.body.dump();
      return res.statusCode === 200 && String(res.headers['content-type'] ?? '').startsWith('text/html');
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.#agent.close().catch(() => {});
  }

  async #request(
    method: Dispatcher.HttpMethod,
    path: string,
    headers: Record<string, string> = {},
    body?: Readable,
  ): Promise<Dispatcher.ResponseData> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(new URL(path, this.origin), {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        dispatcher: this.#agent,
        signal: this.#signal,
      });
    } catch (err) {
      throw this.#networkError(err);
    }
    if (res.statusCode < 400) return res;
    const text = (await res.body.text().catch(() => '')).split('\n')[0]!.slice(0, 300);
    throw refusal(res.statusCode, header(res, 'portunus-error'), text);
  }

  #networkError(err: unknown): PortunusError {
    if (err instanceof PortunusError) return err;
    if (this.#signal.aborted) return createError('CANCELLED', 'cancelled on this side', { cause: err });
    const cause = (err as { cause?: unknown }).cause ?? err;
    const tls = relayTls(this.#endpoint, this.#ca).explain(cause as Error & { code?: string });
    if (tls !== undefined) return tls;
    const message = cause instanceof Error ? cause.message : String(cause);
    return createError('RELAY_UNREACHABLE', `no connection to the relay at ${this.origin}: ${message}`, { cause: err });
  }
}

function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A refusal: the relay's code when it named one of ours, else what the status says. */
function refusal(status: number, code: string | undefined, text: string): PortunusError {
  const message = text === '' ? `the relay refused (HTTP ${status})` : `the relay refused: ${text}`;
  if (code !== undefined && isErrorCode(code)) return createError(code, message);
  // A relay that predates drops serves no /drops at all: a 404 without our header.
  if (status === 404 && code === undefined) return createError('DROPS_DISABLED', 'the relay does not store drops');
  return createError('RELAY_PROTOCOL', `${message} (${code ?? `HTTP ${status}`})`);
}
