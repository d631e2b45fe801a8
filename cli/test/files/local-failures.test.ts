import { describe, expect, it } from 'vitest';
import { createError, PortunusError } from '../../src/protocol.js';
import { LocalFailures } from '../../src/files/local-failures.js';
import type { Sink } from '../../src/files/sink.js';

const PATH = '/home/ana/Downloads/secret-project';

describe('LocalFailures: local file problems reach the peer by code only', () => {
  it.each(['FILE_ERROR', 'FILE_EXISTS', 'DISK_FULL'] as const)('%s: the copy for the peer names no path; reveal gives the original', (code) => {
    const local = new LocalFailures();
    const original = createError(code, `cannot write "${PATH}/x": permission denied`);
    const copy = local.hide(original) as PortunusError;
    expect(copy).toBeInstanceOf(PortunusError);
    expect(copy.code).toBe(code);
    expect(copy.message).not.toContain('/');
    expect(copy.message).not.toContain('ana');
    expect(local.reveal(copy)).toBe(original);
  });

  it('other errors (about what the sender sent, or not local) pass unchanged', () => {
    const local = new LocalFailures();
    for (const err of [createError('UNSAFE_PATH', 'refusing "photos/../x"'), createError('CORRUPT', 'bad'), new Error('x')]) {
      expect(local.hide(err)).toBe(err);
      expect(local.reveal(err)).toBe(err);
    }
  });

  it('a guarded sink fails with the copy; the original stays available', async () => {
    const local = new LocalFailures();
    const original = createError('DISK_FULL', `no space left to write "${PATH}/big.bin"`);
    let aborted = false;
    const inner: Sink = {
      write: () => Promise.reject(original),
      commit: () => Promise.resolve('x'),
      abort: async () => {
        aborted = true;
      },
    };
    const sink = local.sink(inner);
    const failure = await sink.write(new Uint8Array(1)).then(() => undefined, (err: unknown) => err);
    expect((failure as PortunusError).message).toBe('no space left on its disk');
    expect(local.reveal(failure)).toBe(original);
    await sink.abort();
    expect(aborted).toBe(true);
    expect(await sink.commit()).toBe('x');
  });
});
