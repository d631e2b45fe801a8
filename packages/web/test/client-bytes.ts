/**
 * What a browser sent a server over one TCP connection, made searchable: HTTP requests are plain text already; a
 * WebSocket's client frames are masked (RFC 6455 §5.3: every frame XORed with a fresh key), so its payloads are
 * unmasked here. A check that looks for a secret in the raw bytes alone would never find one in a WebSocket message.
 */

/** The connection's bytes as read: HTTP requests as sent, then (after an upgrade) every WebSocket payload unmasked. */
export function readableBytes(stream: Buffer): Buffer {
  const ws = upgradeEnd(stream);
  if (ws === undefined) return stream;
  return Buffer.concat([stream.subarray(0, ws), ...webSocketPayloads(stream.subarray(ws))]);
}

/** Where the WebSocket frames start: after the head of the request that asked for the upgrade (none: plain HTTP). */
function upgradeEnd(stream: Buffer): number | undefined {
  let at = 0;
  while (at < stream.length) {
    const end = stream.indexOf('\r\n\r\n', at, 'latin1');
    if (end < 0) return undefined;
    const head = stream.subarray(at, end).toString('latin1');
    if (/^upgrade:\s*websocket\s*$/im.test(head)) return end + 4;
    if (/^transfer-encoding:/im.test(head)) throw new Error('a chunked request body: this reader cannot split it');
    const length = /^content-length:\s*(\d+)\s*$/im.exec(head)?.[1];
    at = end + 4 + Number(length ?? 0);
  }
  return undefined;
}

/**
 * The payloads of a client's WebSocket frames, unmasked, in order (a frame cut short by the connection's end gives
 * what arrived of it). Frames with RSV bits set (a compression extension) would hide their text: refused, so the
 * check can never pass by not reading something.
 */
export function webSocketPayloads(frames: Buffer): Buffer[] {
  const payloads: Buffer[] = [];
  let at = 0;
  while (at + 2 <= frames.length) {
    const first = frames[at]!;
    const second = frames[at + 1]!;
    if ((first & 0x70) !== 0) throw new Error('a WebSocket frame with RSV bits set: compressed, unreadable here');
    if ((second & 0x80) === 0) throw new Error('an unmasked WebSocket frame from a client');
    let length = second & 0x7f;
    let p = at + 2;
    if (length === 126) {
      length = frames.readUInt16BE(p);
      p += 2;
    } else if (length === 127) {
      length = Number(frames.readBigUInt64BE(p));
      p += 8;
    }
    const mask = frames.subarray(p, p + 4);
    p += 4;
    const payload = Buffer.from(frames.subarray(p, Math.min(p + length, frames.length)));
    for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
    payloads.push(payload);
    at = p + length;
  }
  return payloads;
}

/**
 * Every way `text` could show in bytes: itself (compared without case), and its base64 and base64url at each of
 * the three byte alignments it could have inside a longer encoded value (only the characters that depend on
 * `text` alone, so the spelling is the same whatever bytes surround it).
 */
export function spellings(text: string): { plain: string; encoded: string[] } {
  const bytes = Buffer.from(text, 'utf8');
  const encoded = new Set<string>();
  for (const variant of [bytes, Buffer.from(text.toLowerCase(), 'utf8')]) {
    for (let align = 0; align < 3; align++) {
      const zeros = Buffer.concat([Buffer.alloc(align, 0x00), variant, Buffer.alloc(3, 0x00)]).toString('base64');
      const ones = Buffer.concat([Buffer.alloc(align, 0xff), variant, Buffer.alloc(3, 0xff)]).toString('base64');
      // A character that depends on a surrounding bit differs between the two (every such bit flipped).
      let start = 0;
      while (zeros[start] !== ones[start]) start++;
      let end = start;
      while (end < zeros.length && zeros[end] === ones[end]) end++;
      const core = zeros.slice(start, end);
      encoded.add(core);
      encoded.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return { plain: text.toLowerCase(), encoded: [...encoded] };
}

/** The spellings of `needles` found in `haystack` (none: the bytes never carried them). */
export function findSpellings(haystack: Buffer, needles: readonly string[]): string[] {
  const lower = Buffer.from(haystack.toString('latin1').toLowerCase(), 'latin1');
  const found: string[] = [];
  for (const needle of needles) {
    const { plain, encoded } = spellings(needle);
    if (lower.includes(plain, 0, 'latin1')) found.push(`${needle} as text`);
    for (const e of encoded) if (haystack.includes(e, 0, 'latin1')) found.push(`${needle} in base64 as ${e}`);
  }
  return found;
}
