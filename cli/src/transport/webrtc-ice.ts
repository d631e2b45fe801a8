/**
 * ICE servers for the direct path: `--ice-server` values and the servers a relay offers in `paired`. None by default:
 * then only host candidates are gathered, and nothing but the peer (and the relay, for the relay's own servers)
 * learns of the attempt. werift's built-in default (a public STUN server) is never used.
 */
import { createError } from '@portunus/protocol/errors';
import { isIceUrl, parseIceServer, type IceServer } from '@portunus/protocol/ice-server';

/**
 * Parses `stun:host[:port]` or `turn[s]:[user:pass@]host[:port][?transport=udp|tcp]` (user and password
 * percent-decoded). TURN needs the credentials; STUN takes none.
 */
export function parseIceServerArg(text: string, source = '--ice-server'): IceServer {
  const m = /^(stuns?|turns?):(?:([^:@/]*):([^@/]*)@)?(.*)$/.exec(text.trim());
  const bad = () =>
    createError('USAGE', `${source}: '${text.slice(0, 100)}' is not a STUN or TURN URL`, {
      hint: 'Examples: --ice-server stun:stun.example.org:3478, --ice-server turn:user:pass@turn.example.org:3478?transport=tcp',
    });
  if (m === null) throw bad();
  const [, scheme, user, pass, rest] = m as unknown as [string, string, string | undefined, string | undefined, string];
  const urls = `${scheme}:${rest}`;
  if (!isIceUrl(urls)) throw bad();
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw createError('USAGE', `${source}: invalid percent-encoding in the credentials`);
    }
  };
  const server =
    user === undefined
      ? parseIceServer({ urls })
      : parseIceServer({ urls, username: decode(user), credential: decode(pass ?? '') });
  if (server === undefined) {
    throw createError(
      'USAGE',
      `${source}: ${scheme.startsWith('turn') ? 'a TURN server needs user:password@' : 'a STUN server takes no credentials'}`,
    );
  }
  return server;
}
