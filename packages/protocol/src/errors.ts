/**
 * One error type for all of Portunus: every failure has a stable `code` (the vocabulary peers use in their sealed
 * `error` messages) and, where the relay reports it, a WebSocket close code. What a code means to a user — the CLI's
 * exit code and hint — is the CLI's business (cli/src/ui/error-guide.ts). PROTOCOL.md §9 documents this table and a
 * test keeps the two in step.
 */

interface ErrorSpec {
  /** WebSocket close code the relay uses for this condition, when the relay is the one reporting it. */
  readonly close?: number;
}

/** Every error code, with the relay close code where there is one. */
export const ERRORS = {
  INTERNAL: { close: 1011 },
  USAGE: {},
  BAD_CODE: {},
  NOT_INTERACTIVE: {},
  BAD_CONFIG: {},
  WRONG_CODE: {},
  PAKE_FAILED: {},
  NAMEPLATE_IN_USE: { close: 4004 },
  NAMEPLATE_BURNED: { close: 4009 },
  REJECTED: {},
  CANCELLED: {},
  BOTH_SENDING: {},
  BOTH_RECEIVING: {},
  PEER_FAILED: {},
  TIMEOUT: { close: 4008 },
  RELAY_UNREACHABLE: {},
  TLS_UNTRUSTED: {},
  TLS_SELF_SIGNED: {},
  TLS_WRONG_HOST: {},
  TLS_EXPIRED: {},
  TLS_FAILED: {},
  RELAY_INCOMPATIBLE: { close: 4003 },
  NO_RELAY: {},
  NO_SENDER_FOUND: {},
  RELAY_LIMIT: { close: 4013 },
  RELAY_STATE_UNAVAILABLE: { close: 4014 },
  RATE_LIMITED: { close: 4005 },
  RELAY_SHUTDOWN: { close: 4010 },
  RELAY_PROTOCOL: { close: 4001 },
  MESSAGE_TOO_BIG: { close: 1009 },
  IDLE_TIMEOUT: { close: 4007 },
  BYTE_CAP: { close: 4011 },
  PEER_GONE: { close: 4006 },
  PROTOCOL: {},
  CORRUPT: {},
  INTERRUPTED: {},
  DIRECT_FAILED: {},
  BINDING_MISMATCH: {},
  FILE_EXISTS: {},
  FILE_ERROR: {},
  FILE_CHANGED: {},
  DISK_FULL: {},
  UNSAFE_PATH: {},
  DROPS_DISABLED: {},
  DROP_NOT_FOUND: {},
  DROP_GONE: {},
  DROP_EXISTS: {},
  DROP_INCOMPLETE: {},
  DROP_TOO_LARGE: {},
  DROP_QUOTA: {},
  DROP_STORAGE_FULL: {},
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, value);
}

export class PortunusError extends Error {
  override readonly name = 'PortunusError';
  readonly code: ErrorCode;
  /** What to do about it, when the place that failed knows better than its code's usual hint. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options?.hint;
  }

  /** The close code the relay sends for this error (1008, policy violation, when none is specific). */
  get closeCode(): number {
    const spec: ErrorSpec = ERRORS[this.code];
    return spec.close ?? 1008;
  }
}

/** The one factory: `createError('WRONG_CODE', 'key confirmation failed')`. */
export function createError(
  code: ErrorCode,
  message: string,
  options?: { hint?: string; cause?: unknown },
): PortunusError {
  return new PortunusError(code, message, options);
}

/** Maps a relay close code back to the error it stands for (for clients). */
export function errorCodeForClose(closeCode: number): ErrorCode | undefined {
  for (const [code, spec] of Object.entries(ERRORS) as [ErrorCode, ErrorSpec][]) {
    if (spec.close === closeCode) return code;
  }
  return undefined;
}

/** Turns anything thrown into a PortunusError, keeping the original as `cause`. */
export function toPortunusError(err: unknown): PortunusError {
  if (err instanceof PortunusError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return createError('INTERNAL', message, { cause: err });
}
