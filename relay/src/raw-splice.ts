/**
 * A link made plain (PROTOCOL.md §12): once a linked client's rendezvous has been handed on and both WebSockets are
 * idle (nothing half-read, nothing queued, nobody paused), this instance stops reading frames at all and pipes the
 * two TCP streams into each other. The bytes stay valid as they are: the client masks its frames as a client must,
 * which is what the room's instance expects of this instance's link, and the room's instance sends unmasked server
 * frames, which is what the client expects. Every frame was parsed, unmasked, copied and masked again by this
 * instance before (2.06x the relay CPU per GiB of a room on one instance, 0.60x its speed on 2 busy cores); now
 * the kernel's buffers and one read and one write per chunk are all it costs.
 *
 * What the splice still reads is the frame headers coming from the room's instance (FrameBoundary), to know whether
 * a close frame went by and whether the stream stands between two frames: when the room's instance goes away
 * without one (killed), the client still gets RELAY_SHUTDOWN in the relay's words, as before.
 *
 * It reaches into ws (8.x): the receiver's parser state, and the socket listeners it installed, by name. If any of
 * that is not as expected the link simply stays a frame splice.
 */
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { createError, encodeRelayMessage } from '@portunus/protocol';

interface WsInternals {
  _socket: Duplex | null;
  _receiver: { _state: number; _bufferedBytes: number; _loop: boolean } | null;
  _sender: { _queue: unknown[]; _state: number } | null;
  _readyState: number;
}

/** ws's own socket listeners that read frames (its 'close' listener stays: it ends the WebSocket object). */
const READERS = [
  ['data', 'socketOnData'],
  ['end', 'socketOnEnd'],
  ['error', 'socketOnError'],
] as const;

/** The socket under `ws`, if ws stands between two frames both ways and can be set aside. */
function idleSocket(ws: WebSocket): Duplex | undefined {
  const inner = ws as unknown as WsInternals;
  const socket = inner._socket;
  const receiver = inner._receiver;
  const sender = inner._sender;
  if (ws.readyState !== WebSocket.OPEN || socket === null || receiver === null || sender === null) return undefined;
  if (receiver._state !== 0 || receiver._bufferedBytes !== 0 || receiver._loop) return undefined;
  if (sender._queue.length !== 0 || sender._state !== 0 || ws.bufferedAmount !== 0) return undefined;
  if (socket.readableLength !== 0 || socket.isPaused()) return undefined;
  for (const [event, name] of READERS) {
    if (!socket.listeners(event).some((f) => f.name === name)) return undefined;
  }
  return socket;
}

/** Takes ws's readers off the socket; the WebSocket object stays CLOSING (nothing sends through it any more). */
function setAside(ws: WebSocket, socket: Duplex): void {
  for (const [event, name] of READERS) {
    for (const f of socket.listeners(event)) {
      if (f.name === name) socket.removeListener(event, f as (...args: unknown[]) => void);
    }
  }
  (ws as unknown as WsInternals)._readyState = WebSocket.CLOSING;
}

/**
 * Pipes `client` (this instance's side of the client's connection) and `link` (its connection to the room's
 * instance) into each other, if both are idle; false (nothing changed) otherwise.
 */
export function spliceRaw(client: WebSocket, link: WebSocket): boolean {
  const c = idleSocket(client);
  const l = idleSocket(link);
  if (c === undefined || l === undefined) return false;
  setAside(client, c);
  setAside(link, l);
  const frames = new FrameBoundary();
  let ended = false;
  const end = (goneWithoutClose: boolean): void => {
    if (ended) return;
    ended = true;
    l.destroy();
    if (goneWithoutClose && frames.between && !frames.closeSeen && c.writable) {
      c.end(Buffer.concat([...shutdownFrames()]));
    } else {
      c.end();
    }
  };
  pipe(c, l);
  l.on('data', (chunk: Buffer) => {
    frames.see(chunk);
    if (!c.write(chunk)) l.pause();
  });
  c.on('drain', () => l.resume());
  l.on('end', () => end(true));
  l.on('close', () => end(true));
  l.on('error', () => end(true));
  // The client half-closed (it sent its close frame and is done): the room's instance hears the end, and its own
  // close ends the client's socket through `end`.
  c.on('end', () => l.end());
  c.on('error', () => {
    ended = true;
    l.destroy();
    c.destroy();
  });
  c.on('close', () => l.destroy());
  c.resume();
  l.resume();
  return true;
}

function pipe(from: Duplex, to: Duplex): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
}

/** The error and the close a client gets when the room's instance went away: RELAY_SHUTDOWN (4010). */
function* shutdownFrames(): Generator<Buffer> {
  const message = 'the relay instance holding this room went away';
  yield serverFrame(0x1, Buffer.from(encodeRelayMessage({ type: 'error', code: 'RELAY_SHUTDOWN', message })));
  const close = Buffer.alloc(2);
  close.writeUInt16BE(createError('RELAY_SHUTDOWN', message).closeCode);
  yield serverFrame(0x8, Buffer.concat([close, Buffer.from(message.slice(0, 100))]));
}

/** One unmasked, final frame (RFC 6455 §5.2). */
export function serverFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.alloc(2) : n < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (n < 126) head[1] = n;
  else if (n < 65_536) {
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/** Follows the frame headers of a WebSocket stream without reading the payloads. */
export class FrameBoundary {
  private readonly head = Buffer.alloc(14);
  private have = 0;
  private left = 0;
  closeSeen = false;

  /** Between two frames: no header half-read, no payload left. */
  get between(): boolean {
    return this.have === 0 && this.left === 0;
  }

  see(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.left > 0) {
        const n = Math.min(this.left, chunk.length - i);
        this.left -= n;
        i += n;
        continue;
      }
      this.head[this.have++] = chunk[i++]!;
      if (this.have < 2) continue;
      const len7 = this.head[1]! & 0x7f;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (this.head[1]! & 0x80 ? 4 : 0);
      if (this.have < need) continue;
      if ((this.head[0]! & 0x0f) === 0x8) this.closeSeen = true;
      this.left = len7 === 126 ? this.head.readUInt16BE(2) : len7 === 127 ? Number(this.head.readBigUInt64BE(2)) : len7;
      this.have = 0;
    }
  }
}
