/**
 * The CLI's client of a relay's drop API (PROTOCOL.md §11.3), over undici: the capability check, tus 1.0.0 creation,
 * HEAD and PATCH of an upload, and downloads with a lease and Range. A refusal carries the relay's
 * `Portunus-Error` code and one-line message; anything the relay did not name becomes RELAY_PROTOCOL, and a
 * connection that fails, RELAY_UNREACHABLE (or a TLS error, as for the WebSocket client).
 */
import { rootCertificates } from 'node:tls';
import { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import {
  createError,
  type DropDownloadHead,
  dropRefusal,
  type DropLimits,
  dropUploadMetadata,
  type HeaderOf,
  parseDropCreated,
  parseDropDownload,
  parseDropLimits,
  parseUploadOffset,
  PortunusError,
  TUS_VERSION,
} from '@portunus/protocol';
import { relayEndpoint } from '../relay-client/endpoint.js';
import { relayTls } from '../relay-client/tls.js';

export interface Download extends DropDownloadHead {
  /** The stored bytes from the requested offset on. */
  body: AsyncIterable<Uint8Array>;
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
    return parseDropLimits(await res.body.json().catch(() => undefined));
  }

  /** tus creation: returns the upload's path and the token its HEAD and PATCH need. */
  async create(args: { id: string; length: number; expires: number; downloads: number }): Promise<{
    path: string;
    token: string;
  }> {
    const res = await this.#request('POST', '/drops', {
      'tus-resumable': TUS_VERSION,
      'upload-length': String(args.length),
      'upload-metadata': dropUploadMetadata(args),
    });
    await res.body.dump();
    return parseDropCreated(headerOf(res), this.origin);
  }

  /** tus HEAD: how much of the upload the relay holds. */
  async offset(path: string, token: string): Promise<{ offset: number; length: number }> {
    const res = await this.#request('HEAD', path, { 'tus-resumable': TUS_VERSION, 'portunus-upload-token': token });
    await res.body.dump();
    const length = Number(header(res, 'upload-length'));
    if (!Number.isSafeInteger(length) || length < 0) {
      throw createError('RELAY_PROTOCOL', 'the relay gave no valid Upload-Length for the drop');
    }
    return { offset: parseUploadOffset(headerOf(res), length), length };
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
    return parseUploadOffset(headerOf(res));
  }

  /** GET of a drop: a fresh download (takes a slot), or with a lease from stored offset `from` on (takes none). */
  async download(id: string, lease?: { token: string; from: number }): Promise<Download> {
    const headers: Record<string, string> =
      lease === undefined ? {} : { 'portunus-lease': lease.token, range: `bytes=${lease.from}-` };
    const res = await this.#request('GET', `/drops/${id}`, headers);
    let head;
    try {
      head = parseDropDownload(res.statusCode, lease !== undefined, headerOf(res));
    } catch (err) {
      res.body.destroy();
      throw err;
    }
    return {
      body: res.body,
      ...head,
      cancel: () => res.body.destroy(),
    };
  }

  /** Tells the relay the drop arrived whole and checked: the download's lease ends (PROTOCOL.md §11.3). */
  async received(id: string, lease: string): Promise<void> {
    const res = await this.#request('DELETE', `/drops/${id}`, { 'portunus-lease': lease });
    await res.body.dump();
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
    throw dropRefusal(res.statusCode, header(res, 'portunus-error'), await res.body.text().catch(() => ''));
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

function headerOf(res: Dispatcher.ResponseData): HeaderOf {
  return (name) => header(res, name);
}
