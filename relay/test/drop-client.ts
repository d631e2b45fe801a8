/** Test helpers for the drop API: a tiny tus client over fetch, a PATCH cut off mid-body, and hashing. */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { within } from './helpers.js';

export const TUS = { 'Tus-Resumable': '1.0.0' };

export function newDropId(): string {
  return randomBytes(16).toString('hex');
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** tus Upload-Metadata from plain values. */
export function metadata(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
}

export interface Created {
  res: Response;
  token: string;
}

export async function createDrop(
  base: string,
  fields: Record<string, string>,
  length: number,
  headers: Record<string, string> = {},
): Promise<Created> {
  const res = await fetch(`${base}/drops`, {
    method: 'POST',
    headers: { ...TUS, 'Upload-Length': String(length), 'Upload-Metadata': metadata(fields), ...headers },
  });
  await res.arrayBuffer();
  return { res, token: res.headers.get('portunus-upload-token') ?? '' };
}

export async function patch(base: string, id: string, token: string, offset: number, body: Buffer): Promise<Response> {
  const res = await fetch(`${base}/drops/${id}`, {
    method: 'PATCH',
    headers: {
      ...TUS,
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
      'Portunus-Upload-Token': token,
    },
    body,
  });
  await res.arrayBuffer();
  return res;
}

export async function uploadOffset(base: string, id: string, token: string): Promise<number> {
  const res = await fetch(`${base}/drops/${id}`, {
    method: 'HEAD',
    headers: { ...TUS, 'Portunus-Upload-Token': token },
  });
  if (res.status !== 200) throw new Error(`HEAD ${res.status} ${res.headers.get('portunus-error')}`);
  return Number(res.headers.get('upload-offset'));
}

/** Creates a drop and uploads `data` in one PATCH; returns the upload token. */
export async function dropBytes(
  base: string,
  id: string,
  data: Buffer,
  fields: Record<string, string> = {},
): Promise<string> {
  const { res, token } = await createDrop(base, { id, ...fields }, data.length);
  if (res.status !== 201) throw new Error(`create: ${res.status} ${res.headers.get('portunus-error')}`);
  const done = await patch(base, id, token, 0, data);
  if (done.status !== 204) throw new Error(`patch: ${done.status} ${done.headers.get('portunus-error')}`);
  return token;
}

/**
 * A PATCH whose connection is cut after `sent` bytes of `body` were handed to the socket (a sender killed mid-upload).
 * Resolves once the socket is gone; the relay keeps whatever reached it.
 */
export function cutPatch(
  base: string,
  id: string,
  token: string,
  offset: number,
  body: Buffer,
  sent: number,
): Promise<void> {
  const url = new URL(`${base}/drops/${id}`);
  return within(
    new Promise<void>((resolve) => {
      const req = request(url, {
        method: 'PATCH',
        headers: {
          ...TUS,
          'Upload-Offset': String(offset),
          'Content-Type': 'application/offset+octet-stream',
          'Content-Length': String(body.length),
          'Portunus-Upload-Token': token,
        },
      });
      req.on('error', () => {});
      req.on('close', () => resolve());
      req.write(body.subarray(0, sent), () => req.destroy());
    }),
    'a cut-off PATCH',
  );
}

/** Reads a response body until at least `bytes` arrived, then cuts the connection; returns what arrived. */
export async function readPart(res: Response, bytes: number): Promise<Buffer> {
  const reader = res.body!.getReader();
  const chunks: Buffer[] = [];
  let got = 0;
  while (got < bytes) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(Buffer.from(value));
    got += value.length;
  }
  await reader.cancel();
  return Buffer.concat(chunks);
}

/** Polls `check` (bounded) until it holds. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The receiver's `DELETE /drops/<id>` under `lease`: it has every byte, checked (PROTOCOL.md §11.3). */
export async function received(base: string, id: string, lease: string | null): Promise<Response> {
  return fetch(`${base}/drops/${id}`, { method: 'DELETE', headers: { 'Portunus-Lease': lease ?? '' } });
}
