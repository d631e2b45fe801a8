/**
 * A signal that follows `parent` only until `release()`. The relay connection is opened under one: Ctrl-C while
 * connecting or waiting for the other side simply drops the connection, but once the session runs, cancelling is
 * the session's job (it tells the peer with a sealed CANCELLED before the connection closes), so the connection
 * must no longer end itself on the same signal.
 */
export function scopedSignal(parent: AbortSignal): { signal: AbortSignal; release: () => void } {
  const scoped = new AbortController();
  const follow = () => scoped.abort(parent.reason);
  if (parent.aborted) follow();
  else parent.addEventListener('abort', follow, { once: true });
  return { signal: scoped.signal, release: () => parent.removeEventListener('abort', follow) };
}
