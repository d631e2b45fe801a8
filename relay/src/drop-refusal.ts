/**
 * The refusals of the drop API (PROTOCOL.md §11.3): each code with its HTTP status. A refusal is the status, the
 * header `Portunus-Error: <CODE>` and a one-line text body; it never carries a token or stored byte.
 */
import type { ServerResponse } from 'node:http';

export const DROP_REFUSALS = {
  BAD_REQUEST: 400,
  DROPS_DISABLED: 404,
  DROP_NOT_FOUND: 404,
  DROP_EXISTS: 409,
  DROP_INCOMPLETE: 409,
  DROP_GONE: 410,
  DROP_TOO_LARGE: 413,
  RANGE_NOT_SATISFIABLE: 416,
  DROP_QUOTA: 429,
  INTERNAL: 500,
  RELAY_SHUTDOWN: 503,
  DROPS_UNAVAILABLE: 503,
  DROP_STORAGE_FULL: 507,
} as const;

export type DropRefusalCode = keyof typeof DROP_REFUSALS;

export class DropRefusal extends Error {
  constructor(
    readonly code: DropRefusalCode,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return DROP_REFUSALS[this.code];
  }
}

/** The code for a status some other layer (the tus server) chose, so every failure carries one. */
export function refusalCodeForStatus(status: number): DropRefusalCode {
  if (status === 404) return 'DROP_NOT_FOUND';
  if (status === 410) return 'DROP_GONE';
  if (status === 413) return 'DROP_TOO_LARGE';
  // Only a finish that could not be recorded (shared-drops.ts, Redis unreachable) is answered 503 through tus.
  if (status === 503) return 'DROPS_UNAVAILABLE';
  return status >= 500 ? 'INTERNAL' : 'BAD_REQUEST';
}

export function sendRefusal(res: ServerResponse, refusal: DropRefusal, head: boolean): void {
  const body = `${refusal.message.replace(/[\r\n]+/g, ' ')}\n`;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(refusal.status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'portunus-error': refusal.code,
  });
  res.end(head ? undefined : body);
}
