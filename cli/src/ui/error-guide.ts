/**
 * What each error code means to a person at a terminal or a script (README "Errors"): the CLI's exit code (stable;
 * scripts depend on them) and a one-line hint saying what to do. The codes themselves are the protocol's
 * (packages/protocol/src/errors.ts); a test keeps this table and the README's in step.
 */
import { PortunusError, type ErrorCode } from '@portunus/protocol';

/** CLI exit codes. */
export const ExitCode = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  WRONG_CODE: 3,
  REJECTED: 4,
  TIMEOUT: 5,
  RELAY: 6,
  TRANSFER: 7,
  LOCAL_FILE: 8,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

interface Guide {
  readonly exit: ExitCode;
  readonly hint: string;
}

/** Every error code, with its exit code and the hint shown to the user. */
export const ERROR_GUIDE = {
  INTERNAL: { exit: 1, hint: 'This is a bug in Portunus; please report it with the output of --verbose.' },
  USAGE: { exit: 2, hint: 'Run `portunus --help` for usage.' },
  BAD_CODE: { exit: 2, hint: 'A code looks like 7-H7K-29A: a number, then six letters or digits.' },
  NOT_INTERACTIVE: { exit: 2, hint: 'No terminal to ask on: pass --yes to accept, or run in a terminal.' },
  BAD_CONFIG: {
    exit: 2,
    hint: 'Fix the config file by hand, or delete it (it only holds what `portunus config set` wrote).',
  },
  WRONG_CODE: { exit: 3, hint: 'The code was mistyped, or someone tried to guess it; ask for a new code.' },
  PAKE_FAILED: { exit: 3, hint: 'The key exchange failed; ask for a new code and try again.' },
  NAMEPLATE_IN_USE: {
    exit: 3,
    hint: 'This code is taken: two parties are using it, or a sender serving several receivers (send --count) has no seat left. Check the number, or ask for a new code.',
  },
  NAMEPLATE_BURNED: {
    exit: 3,
    hint: 'A failed attempt (a wrong code, or someone guessing) burned this code on the relay for its --nameplate-ttl (10 minutes by default). Use a new code; in CI, derive a fresh pre-agreed code per attempt, e.g. with the run attempt number in its nameplate (README: For scripts and CI).',
  },
  REJECTED: { exit: 4, hint: 'Nothing was sent or kept. If it is wanted after all, start again with a new code.' },
  CANCELLED: { exit: 4, hint: 'Nothing partial was kept. Start again with a new code when both sides are ready.' },
  BOTH_SENDING: { exit: 4, hint: 'Both sides tried to send. One side must run `portunus receive`.' },
  BOTH_RECEIVING: { exit: 4, hint: 'Both sides tried to receive. One side must run `portunus send`.' },
  PEER_FAILED: {
    exit: 7,
    hint: 'The other side hit an error and stopped. Nothing was moved into place; a file received in part continues when the same receive runs again.',
  },
  TIMEOUT: { exit: 5, hint: 'Nobody connected in time. Check the code and try again, or raise --timeout.' },
  RELAY_UNREACHABLE: {
    exit: 6,
    hint: 'Check the relay address and your network, or run your own with `portunus relay`.',
  },
  TLS_UNTRUSTED: {
    exit: 6,
    hint: "If the relay's certificate comes from your own CA, pass that CA's certificate with --ca FILE (or PORTUNUS_CA); otherwise do not trust this relay.",
  },
  TLS_SELF_SIGNED: {
    exit: 6,
    hint: "If this is your relay's own certificate, pass it with --ca FILE (or PORTUNUS_CA); otherwise do not trust this relay.",
  },
  TLS_WRONG_HOST: {
    exit: 6,
    hint: 'Use a relay address with a name the certificate is for, or give the relay a certificate for the name you use.',
  },
  TLS_EXPIRED: {
    exit: 6,
    hint: "The relay's operator must renew its certificate. If the date looks wrong, check this computer's clock.",
  },
  TLS_FAILED: {
    exit: 6,
    hint: 'Check the scheme: wss:// (or https://) for a relay behind TLS, ws:// for a plain one.',
  },
  RELAY_INCOMPATIBLE: {
    exit: 6,
    hint: 'The relay speaks a different protocol version: upgrade portunus (npm i -g portunus-cli@latest).',
  },
  NO_RELAY: {
    exit: 6,
    hint: 'No relay configured: pass --relay ws://host:port, set PORTUNUS_RELAY, or start one with `portunus relay`.',
  },
  NO_SENDER_FOUND: {
    exit: 6,
    hint: 'Are both computers on the same network, and is the sender still running? Otherwise meet through a relay: --relay ws://host:port on both sides.',
  },
  RELAY_LIMIT: { exit: 6, hint: 'The relay refused: one of its limits was reached. Try again later.' },
  RELAY_STATE_UNAVAILABLE: { exit: 6, hint: "The relay's shared state is unavailable; try again shortly." },
  RATE_LIMITED: { exit: 6, hint: 'Too many attempts from your address; wait a minute and try again.' },
  RELAY_SHUTDOWN: { exit: 6, hint: 'The relay is restarting; try again in a moment.' },
  RELAY_PROTOCOL: {
    exit: 6,
    hint: 'The relay and this client disagree on the protocol; upgrade portunus or check the relay.',
  },
  MESSAGE_TOO_BIG: { exit: 7, hint: 'A message exceeded the relay size limit.' },
  IDLE_TIMEOUT: { exit: 7, hint: 'The connection was idle for too long.' },
  BYTE_CAP: { exit: 7, hint: 'The relay limits how much one transfer may send through it.' },
  PEER_GONE: { exit: 7, hint: 'The other side disconnected before the transfer finished.' },
  PROTOCOL: {
    exit: 7,
    hint: 'The other side sent something invalid; both sides should run the same portunus version.',
  },
  CORRUPT: {
    exit: 7,
    hint: 'The data failed its integrity check (tampered with or corrupted in transit); nothing was kept.',
  },
  INTERRUPTED: {
    exit: 7,
    hint: 'The transfer was interrupted. Try again: a file received in part continues where it stopped (--no-resume starts over).',
  },
  DIRECT_FAILED: {
    exit: 7,
    hint: 'The two computers could not connect directly: use --transport auto to fall back to the relay, or add a TURN server with --ice-server.',
  },
  BINDING_MISMATCH: {
    exit: 7,
    hint: 'The direct connection was not the one agreed with the other side (someone may be interfering); nothing was sent over it.',
  },
  FILE_EXISTS: {
    exit: 8,
    hint: 'Pass --overwrite to replace it, --rename to keep both (a (1).txt), or choose another place with -o.',
  },
  FILE_ERROR: { exit: 8, hint: 'Check the path and its permissions.' },
  FILE_CHANGED: { exit: 8, hint: 'The file changed while it was being sent; send it again once it is stable.' },
  DISK_FULL: { exit: 8, hint: 'Free some space, or receive to another disk with -o.' },
  UNSAFE_PATH: { exit: 8, hint: 'The sender offered a path outside the output folder; nothing was written there.' },
  DROPS_DISABLED: {
    exit: 6,
    hint: 'This relay stores no drops: use a relay started with `portunus relay --storage DIR`, or send live without --drop.',
  },
  DROP_NOT_FOUND: {
    exit: 3,
    hint: 'No such drop on this relay: check the code and the relay, or it expired or was deleted; ask for a new drop.',
  },
  DROP_GONE: {
    exit: 3,
    hint: "The drop's downloads are used up (or this download's lease ended); ask the sender for a new drop.",
  },
  DROP_EXISTS: {
    exit: 6,
    hint: 'A drop with this code is stored already; send again without reusing the code.',
  },
  DROP_INCOMPLETE: {
    exit: 6,
    hint: 'The sender has not finished uploading this drop; try again once its send --drop has exited.',
  },
  DROP_TOO_LARGE: {
    exit: 6,
    hint: 'The relay refuses drops this large: send it live, or use a relay with a larger --drop-max-bytes.',
  },
  DROP_QUOTA: {
    exit: 6,
    hint: 'You store too many drops or bytes on this relay: wait for some to expire or be downloaded.',
  },
  DROP_STORAGE_FULL: { exit: 6, hint: "The relay's storage is full: try again later, or send live." },
} as const satisfies Record<ErrorCode, Guide>;

export function exitCodeOf(error: PortunusError): ExitCode {
  return ERROR_GUIDE[error.code].exit;
}

/** A receiver's refusal (REJECTED) for a reason of its own: what the receiver can do about it. */
const REFUSALS: Partial<Record<ErrorCode, string>> = {
  FILE_EXISTS:
    'The receiver can pass --overwrite to replace its copy, --rename to keep both, or choose another place with -o.',
  DISK_FULL: 'The receiver needs more free space, or another disk with -o.',
};

/** The hint for `error`: its own when the place that failed gave one, else its code's (or its refusal's). */
export function hintOf(error: PortunusError): string {
  const refusal =
    error.code === 'REJECTED' && error.cause instanceof PortunusError ? REFUSALS[error.cause.code] : undefined;
  return error.hint ?? refusal ?? ERROR_GUIDE[error.code].hint;
}
