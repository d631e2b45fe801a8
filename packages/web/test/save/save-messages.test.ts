import { describe, expect, it } from 'vitest';
import { contentDisposition } from '../../src/save/content-disposition.js';
import {
  downloadId,
  parseDownloadRequest,
  parsePageMessage,
  parseWorkerMessage,
} from '../../src/save/download-messages.js';

describe('Content-Disposition for a download (RFC 6266, RFC 8187)', () => {
  it.each([
    ['report.pdf', `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`],
    ['größe 1.bin', `attachment; filename="gr__e 1.bin"; filename*=UTF-8''gr%C3%B6%C3%9Fe%201.bin`],
    ['a"b\\c.txt', `attachment; filename="a_b_c.txt"; filename*=UTF-8''a%22b%5Cc.txt`],
    ["it's (1)*.txt", `attachment; filename="it's (1)*.txt"; filename*=UTF-8''it%27s%20%281%29%2A.txt`],
    [
      'x\r\nSet-Cookie: a=b',
      `attachment; filename="x__Set-Cookie: a=b"; filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a%3Db`,
    ],
    ['😀', `attachment; filename="_"; filename*=UTF-8''%F0%9F%98%80`],
  ])('%j', (name, header) => {
    expect(contentDisposition(name)).toBe(header);
    // Nothing that could end the header or start another.
    expect(header).not.toMatch(/[\r\n]/);
  });
});

describe('messages between the page and its service worker', () => {
  const id = '0123456789abcdef0123456789abcdef';

  it('accepts a well-formed download request and refuses anything else', () => {
    expect(parseDownloadRequest({ type: 'portunus-download', id, name: 'a.bin', size: 5, extra: 1 })).toEqual({
      type: 'portunus-download',
      id,
      name: 'a.bin',
      size: 5,
    });
    expect(parseDownloadRequest({ type: 'portunus-download', id, name: 'a', size: null })?.size).toBeNull();
    for (const bad of [
      null,
      'x',
      { type: 'other', id, name: 'a', size: 1 },
      { type: 'portunus-download', id: 'ABC', name: 'a', size: 1 },
      { type: 'portunus-download', id: '../x', name: 'a', size: 1 },
      { type: 'portunus-download', id, name: '', size: 1 },
      { type: 'portunus-download', id, name: 'n'.repeat(256), size: 1 },
      { type: 'portunus-download', id, name: 'a', size: -1 },
      { type: 'portunus-download', id, name: 'a', size: 1.5 },
      { type: 'portunus-download', id, name: 'a' },
    ]) {
      expect(parseDownloadRequest(bad)).toBeUndefined();
    }
  });

  it('parses port messages strictly', () => {
    const bytes = new Uint8Array([1, 2]);
    expect(parsePageMessage({ type: 'chunk', bytes })).toEqual({ type: 'chunk', bytes });
    expect(parsePageMessage({ type: 'chunk', bytes: [1, 2] })).toBeUndefined();
    expect(parsePageMessage({ type: 'end' })).toEqual({ type: 'end' });
    expect(parsePageMessage({ type: 'pull' })).toBeUndefined();
    expect(parseWorkerMessage({ type: 'pull' })).toEqual({ type: 'pull' });
    expect(parseWorkerMessage({ type: 'chunk' })).toBeUndefined();
  });

  it('makes 128-bit hex ids', () => {
    expect(downloadId()).toMatch(/^[0-9a-f]{32}$/);
    expect(downloadId(() => new Uint8Array(16).fill(0xab))).toBe('ab'.repeat(16));
  });
});
