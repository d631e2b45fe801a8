import { describe, expect, it } from 'vitest';
import { type Chunk, Lookahead, Wakeup } from '@portunus/client';

/** Takes every chunk the lookahead hands out, waiting on its ready callback (never on time). */
async function drain(chunks: AsyncIterable<Uint8Array>): Promise<(Chunk | Error)[]> {
  const ready = new Wakeup();
  const seen: (Chunk | Error)[] = [];
  let next = ready.next();
  const source = new Lookahead(chunks, () => ready.wake());
  for (;;) {
    const item = source.peek();
    if (item === undefined) {
      await next;
      next = ready.next();
      continue;
    }
    seen.push(item);
    if (item instanceof Error || item.final) return seen;
    next = ready.next();
    source.take();
  }
}

async function* from(...parts: (string | Error)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    if (p instanceof Error) throw p;
    yield new TextEncoder().encode(p);
  }
}

const text = (c: Chunk | Error) =>
  c instanceof Error ? c.message : `${new TextDecoder().decode(c.chunk)}${c.final ? '!' : ''}`;

describe('Lookahead', () => {
  it('marks only the last chunk final, once the source has ended', async () => {
    expect((await drain(from('a', 'b', 'c'))).map(text)).toEqual(['a', 'b', 'c!']);
  });

  it('hands out one empty final chunk for an empty source', async () => {
    expect((await drain(from())).map(text)).toEqual(['!']);
  });

  it("hands out the source's error in place of the next chunk", async () => {
    expect((await drain(from('a', 'b', new Error('disk gone')))).map(text)).toEqual(['a', 'disk gone']);
  });
});
