/**
 * What the page and its service worker say to each other for a streamed download (sw.ts, download-saver.ts).
 * The page registers a download on the worker with a MessageChannel port, then opens its URL; on that port the
 * worker asks for each chunk (`pull`) as the browser reads the response, so the page never sends ahead of the
 * download: at most one chunk is in flight. Both sides validate what they receive, as with any other message.
 */

/** The path below the worker's scope that the worker answers; the rest of the URL is the download's id. */
export const DOWNLOAD_PATH = 'portunus-download/';
const ID = /^[0-9a-f]{32}$/;
const MAX_NAME_LENGTH = 255;

/** Page → worker (postMessage to the worker, with the port transferred). */
export interface DownloadRequest {
  type: 'portunus-download';
  id: string;
  name: string;
  size: number | null;
}

/** Page → worker, on the port. */
export type PageMessage = { type: 'chunk'; bytes: Uint8Array } | { type: 'end' } | { type: 'abort' };

/** Worker → page, on the port. */
export type WorkerMessage = { type: 'ready' } | { type: 'refused' } | { type: 'pull' } | { type: 'cancel' };

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

export function parseDownloadRequest(value: unknown): DownloadRequest | undefined {
  const o = record(value);
  if (o?.type !== 'portunus-download') return undefined;
  const { id, name, size } = o;
  if (typeof id !== 'string' || !ID.test(id)) return undefined;
  if (typeof name !== 'string' || name === '' || name.length > MAX_NAME_LENGTH) return undefined;
  if (size !== null && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) return undefined;
  return { type: 'portunus-download', id, name, size };
}

export function parsePageMessage(value: unknown): PageMessage | undefined {
  const o = record(value);
  if (o?.type === 'chunk') return o.bytes instanceof Uint8Array ? { type: 'chunk', bytes: o.bytes } : undefined;
  if (o?.type === 'end' || o?.type === 'abort') return { type: o.type };
  return undefined;
}

export function parseWorkerMessage(value: unknown): WorkerMessage | undefined {
  const type = record(value)?.type;
  return type === 'ready' || type === 'refused' || type === 'pull' || type === 'cancel' ? { type } : undefined;
}

/** 128 random bits, hex: a download URL nobody can guess. */
export function downloadId(
  random: (bytes: Uint8Array<ArrayBuffer>) => Uint8Array = (b) => crypto.getRandomValues(b),
): string {
  return [...random(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
