/**
 * One link per path (link.ts): sends never overlap, and every incoming frame goes to the consumer of its stream,
 * read from the frame header, one at a time.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeAead } from '@portunus/protocol/node';
import { ACK_STREAM, CONTROL_STREAM, createError, DATA_STREAM, FrameSealer, type PathKind } from '@portunus/protocol';
import { Link, type Transport } from '@portunus/client';

/** A transport the test drives: frames it delivers, sends it records (each one in flight until the test says so). */
class Scripted implements Transport {
  readonly sent: Uint8Array[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private readonly inbox: Uint8Array[] = [];
  private ended: Error | null | undefined;
  private wake: (() => void) | undefined;
  constructor(readonly kind: PathKind) {}
  async send(frame: Uint8Array): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise<void>((r) => setImmediate(r));
    this.sent.push(frame);
    this.inFlight--;
  }
  async *frames(): AsyncIterable<Uint8Array> {
    for (;;) {
      const frame = this.inbox.shift();
      if (frame !== undefined) yield frame;
      else if (this.ended === null) return;
      else if (this.ended !== undefined) throw this.ended;
      else await new Promise<void>((r) => (this.wake = r));
    }
  }
  async close(): Promise<void> {
    this.end(null);
  }
  deliver(frame: Uint8Array): void {
    this.inbox.push(frame);
    this.wake?.();
  }
  end(error: Error | null): void {
    this.ended = error;
    this.wake?.();
  }
}

const frame = (stream: number, index = 0) =>
  new FrameSealer(nodeAead(randomBytes(32)), stream, index).seal(new Uint8Array([index]));

describe('Link', () => {
  it('never lets two sends overlap, and keeps their order', async () => {
    const t = new Scripted('tcp');
    const link = new Link(t);
    const frames = Array.from({ length: 20 }, (_, i) => new Uint8Array([i]));
    await Promise.all(frames.map((f) => link.send(f)));
    expect(t.sent).toEqual(frames);
    expect(t.maxInFlight).toBe(1);
  });

  it('hands each frame to the consumer of its stream, one at a time, each awaited before the next is read', async () => {
    const t = new Scripted('tcp');
    const link = new Link(t);
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    link.on('data', async () => {
      seen.push('data');
      await gate; // a slow consumer: nothing more is read meanwhile
    });
    link.on('acks', () => void seen.push('acks'));
    link.on('control', () => void seen.push('control'));
    t.deliver(frame(DATA_STREAM));
    t.deliver(frame(ACK_STREAM));
    t.deliver(frame(CONTROL_STREAM));
    await new Promise<void>((r) => setImmediate(r));
    expect(seen).toEqual(['data']);
    release();
    t.end(null);
    expect(await link.ended).toBeUndefined();
    expect(seen).toEqual(['data', 'acks', 'control']);
  });

  it('ends CORRUPT on a frame of no known stream, or a control frame on the relay pipe', async () => {
    const odd = new Scripted('tcp');
    const a = new Link(odd);
    odd.deliver(frame(9));
    expect(await a.ended).toMatchObject({ code: 'CORRUPT' });
    const relay = new Scripted('relay');
    const b = new Link(relay);
    relay.deliver(frame(CONTROL_STREAM));
    expect(await b.ended).toMatchObject({ code: 'CORRUPT' });
  });

  it('reports the end of the path once, with its error, also to those who ask later', async () => {
    const t = new Scripted('webrtc');
    const link = new Link(t);
    const ends: unknown[] = [];
    link.onEnd((e) => ends.push(e?.code));
    t.end(createError('INTERRUPTED', 'gone'));
    await link.ended;
    link.onEnd((e) => ends.push(e?.code));
    expect(ends).toEqual(['INTERRUPTED', 'INTERRUPTED']);
  });
});
