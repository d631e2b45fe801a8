/** Reading drop creation requests (drop-request.ts): every header and metadata value checked before use. */
import { describe, expect, it } from 'vitest';
import { parseDropRequest, parseRangeStart, parseUploadMetadata, tokenHeader } from '../src/drop-request.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const ID = '0123456789abcdef0123456789abcdef';

describe('drop requests', () => {
  it('parses tus Upload-Metadata, ignoring unknown keys and reading empty values', () => {
    const metadata = parseUploadMetadata(`id ${b64(ID)},expires ${b64('60')},flag,other ${b64('x')}`);
    expect([...metadata]).toEqual([
      ['id', ID],
      ['expires', '60'],
      ['flag', ''],
      ['other', 'x'],
    ]);
  });

  it.each([['id'.repeat(600)], ['id a b'], ['id ***'], [`id ${b64(ID)},id ${b64(ID)}`], ['sp ace'], ['']])(
    'refuses malformed metadata %#',
    (text) => expect(() => parseUploadMetadata(text)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' })),
  );

  it('applies the defaults (24 h, capped by the relay maximum; one download)', () => {
    const headers = { 'upload-length': '10', 'upload-metadata': `id ${b64(ID)}` };
    expect(parseDropRequest(headers, 7 * 86400)).toEqual({ id: ID, length: 10, expiresSeconds: 86400, downloads: 1 });
    expect(parseDropRequest(headers, 3600).expiresSeconds).toBe(3600);
  });

  it.each([
    [{ 'upload-length': '0' }],
    [{ 'upload-length': '-1' }],
    [{ 'upload-length': '1e3' }],
    [{ 'upload-length': '99999999999999999' }],
    [{ 'upload-length': '10', 'upload-defer-length': '1' }],
    [{ 'upload-length': '10', 'upload-metadata': `expires ${b64('60')}` }],
    [{ 'upload-length': '10', 'upload-metadata': `id ${b64(ID)},expires ${b64('07')}` }],
    [{ 'upload-length': '10', 'upload-metadata': `id ${b64(ID)},downloads ${b64('0')}` }],
  ])('refuses %j', (headers) =>
    expect(() => parseDropRequest(headers, 86400)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' })),
  );

  it('reads Range bytes=N- only, and tokens of 32 lowercase hex characters', () => {
    expect(parseRangeStart({})).toBeUndefined();
    expect(parseRangeStart({ range: 'bytes=42-' })).toBe(42);
    expect(() => parseRangeStart({ range: 'bytes=1-2' })).toThrow();
    expect(() => parseRangeStart({ range: 'bytes=-5' })).toThrow();
    expect(tokenHeader({ 'portunus-lease': ID }, 'portunus-lease')).toBe(ID);
    expect(() => tokenHeader({ 'portunus-lease': ID.toUpperCase() }, 'portunus-lease')).toThrow();
  });
});
