/**
 * What a failure says on the page: the PortunusError's own message (the same words the CLI prints, so a wrong
 * code reads alike on both sides) and a hint for a person at a browser. The hints follow the CLI's table
 * (cli/src/ui/error-guide.ts) where they do not name a command-line flag; an error that carries its own hint keeps it.
 */
import { type ErrorCode, PortunusError, toPortunusError } from '@portunus/protocol';

const AGAIN = 'Start again with a new code when both sides are ready.';
const RELAY = 'Check your connection and reload the page; if it persists, the relay may be down.';

const HINTS: Partial<Record<ErrorCode, string>> = {
  BAD_CODE: 'A code looks like 7-H7K-29A: a number, then six letters or digits.',
  WRONG_CODE: 'The code was mistyped, or someone tried to guess it; ask for a new code.',
  PAKE_FAILED: 'The key exchange failed; ask for a new code and try again.',
  NAMEPLATE_IN_USE:
    'This code is taken: two parties are using it, or a sender serving several receivers (send --count) has no seat left. Check the number, or ask for a new code.',
  NAMEPLATE_BURNED: 'A failed attempt (a wrong code, or someone guessing) burned this code. Ask for a new code.',
  REJECTED: 'Nothing was sent or kept. If it is wanted after all, start again with a new code.',
  CANCELLED: `Nothing partial was kept. ${AGAIN}`,
  BOTH_SENDING: 'Both sides tried to send. One side must receive.',
  BOTH_RECEIVING: 'Both sides tried to receive. One side must send.',
  PEER_FAILED: 'The other side hit an error and stopped; nothing partial was kept.',
  TIMEOUT: 'Nobody connected in time. Check the code and try again.',
  RELAY_UNREACHABLE: RELAY,
  RELAY_INCOMPATIBLE: 'The relay speaks a different protocol version: reload the page.',
  RELAY_LIMIT: 'The relay refused: one of its limits was reached. Try again later.',
  RATE_LIMITED: 'Too many attempts from your address; wait a minute and try again.',
  RELAY_SHUTDOWN: 'The relay is restarting; try again in a moment.',
  PEER_GONE: 'The other side disconnected before the transfer finished.',
  PROTOCOL: 'The other side sent something invalid; both sides should run the same Portunus version.',
  CORRUPT: 'The data failed its integrity check (tampered with or corrupted in transit); nothing was kept.',
  INTERRUPTED: `The transfer was interrupted; nothing partial was kept. ${AGAIN}`,
  DIRECT_FAILED: 'The two sides could not connect directly, and the relay path was not allowed.',
  BYTE_CAP: 'The relay limits how much one transfer may send through it.',
  FILE_ERROR: 'The file could not be read or saved here; check that it is still there and try again.',
  FILE_CHANGED: 'The file changed while it was being sent; send it again once it is stable.',
  DISK_FULL: 'There is not enough room to keep it here.',
  UNSAFE_PATH: 'The sender offered a name that is not safe to save; nothing was written.',
  DROPS_DISABLED: 'This relay stores no drops: send live instead, or use a relay that stores them.',
  DROP_NOT_FOUND: 'No such drop on this relay: check the code, or it expired or was deleted; ask for a new drop.',
  DROP_GONE: "The drop's downloads are used up, so the relay deleted it; ask the sender for a new drop.",
  DROP_INCOMPLETE: 'The sender has not finished uploading this drop; try again once it has.',
  DROP_TOO_LARGE: 'The relay refuses drops this large: send it live instead.',
  DROP_QUOTA: 'You store too many drops or bytes on this relay: wait for some to expire or be downloaded.',
  DROP_STORAGE_FULL: "The relay's storage is full: try again later, or send live.",
  DROPS_UNAVAILABLE: "The relay's drops are unavailable for a moment; nothing stored is lost: try again shortly.",
  DROP_EXISTS: 'A drop with this code is stored already; try again (a new code is drawn).',
};

export interface ErrorText {
  code: ErrorCode;
  message: string;
  hint: string;
}

export function errorText(err: unknown): ErrorText {
  const error = err instanceof PortunusError ? err : toPortunusError(err);
  const hint = error.hint ?? HINTS[error.code] ?? 'Reload the page and try again.';
  return { code: error.code, message: error.message, hint };
}
