/**
 * The sealed control messages a side keeps for a reconnect (control-history.ts, PROTOCOL.md §2.13): only stream-0
 * frames, every one from the index the peer names, bounded, and forgotten at a new pairing.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ACK_STREAM, CONTROL_STREAM, FrameSealer, utf8 } from '@portunus/protocol';
import { nodeAead } from '@portunus/protocol/node';
import { ControlHistory, MAX_KEPT_CONTROL } from '@portunus/client';

const sealer = () => new FrameSealer(nodeAead(randomBytes(32)), CONTROL_STREAM);

describe('ControlHistory', () => {
  it('gives back every sealed control message from the index the peer expects, and drops the ones before', () => {
    const history = new ControlHistory();
    const seal = sealer();
    const frames = [0, 1, 2, 3].map((n) => seal.seal(Uint8Array.of(n)));
    history.record(utf8('{"type":"pake"}')); // the clear handshake is never resent
    history.record(new FrameSealer(nodeAead(randomBytes(32)), ACK_STREAM).seal(Uint8Array.of(0))); // nor data-plane frames
    for (const frame of frames) history.record(frame);
    expect(history.from(2)).toEqual(frames.slice(2));
    expect(history.from(4)).toEqual([]);
    // What was dropped stays dropped: a peer asking again from 0 gets what is left.
    expect(history.from(0)).toEqual([]);
  });

  it(`keeps at most ${MAX_KEPT_CONTROL} messages; a peer lacking a forgotten one is INTERRUPTED`, () => {
    const history = new ControlHistory();
    const seal = sealer();
    for (let i = 0; i < MAX_KEPT_CONTROL + 3; i++) history.record(seal.seal(Uint8Array.of(i & 0xff)));
    expect(() => history.from(2)).toThrow(expect.objectContaining({ code: 'INTERRUPTED' }));
    expect(history.from(3)).toHaveLength(MAX_KEPT_CONTROL);
  });

  it('forgets everything at a new pairing', () => {
    const history = new ControlHistory();
    history.record(sealer().seal(Uint8Array.of(1)));
    history.clear();
    expect(history.from(0)).toEqual([]);
  });
});
