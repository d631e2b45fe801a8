/** Turns file-system failures into PortunusErrors with the stable codes users and scripts see. */
import { createError, PortunusError } from '@portunus/protocol/errors';
import { quoteForTerminal, sanitizeForTerminal } from './sanitize.js';

export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EROFS: 'the file system is read-only',
  EEXIST: 'it already exists',
  EIO: 'input/output error',
  EPIPE: 'the output was closed',
};

/**
 * `action` says what was being done ("read", "create"), `path` which path (quoted safely: it may come from the
 * network). No-space errors become DISK_FULL; anything already a PortunusError passes through unchanged.
 */
export function fileError(err: unknown, action: string, path: string): PortunusError {
  if (err instanceof PortunusError) return err;
  const errno = errnoOf(err);
  const where = quoteForTerminal(path, 400);
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return createError('DISK_FULL', `no space left to ${action} ${where}`, { cause: err });
  }
  // Node's own messages repeat the raw path, which may carry escape sequences.
  const reason = (errno && REASONS[errno]) ?? sanitizeForTerminal(err instanceof Error ? err.message : String(err));
  return createError('FILE_ERROR', `cannot ${action} ${where}: ${reason}`, { cause: err });
}
