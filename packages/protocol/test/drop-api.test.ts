/** The drop API's requests and answers as both clients read them (drop-api.ts, PROTOCOL.md §11.3). */
import { describe, expect, it } from 'vitest';
import {
  dropRefusal,
  dropUploadMetadata,
  parseDropCreated,
  parseDropDownload,
  parseDropLimits,
  parseUploadOffset,
} from '../src/index.js';

const headers = (h: Record<string, string>) => (name: string) => h[name];
const TOKEN = 'ab'.repeat(16);

describe('the drop API, read by its clients', () => {
  it('reads the limits, and refuses limits it does not know', () => {
    expect(parseDropLimits({ maxBytes: 5, maxExpirySeconds: 60, maxDownloads: 3 })).toEqual({
      maxBytes: 5,
      maxExpirySeconds: 60,
      maxDownloads: 3,
    });
    for (const body of [undefined, null, {}, { maxBytes: 0, maxExpirySeconds: 60, maxDownloads: 3 }, { maxBytes: '5' }])
      expect(() => parseDropLimits(body)).toThrow(expect.objectContaining({ code: 'RELAY_PROTOCOL' }));
  });

  it('writes the tus metadata as key, space, base64', () => {
    expect(dropUploadMetadata({ id: 'ff', expires: 60, downloads: 2 })).toBe('id ZmY=,expires NjA=,downloads Mg==');
  });

  it('takes a creation with a Location and a 32-hex token only', () => {
    const origin = 'http://relay:4747';
    expect(parseDropCreated(headers({ location: '/drops/x', 'portunus-upload-token': TOKEN }), origin)).toEqual({
      path: '/drops/x',
      token: TOKEN,
    });
    for (const h of [{ location: '/drops/x' }, { location: '/drops/x', 'portunus-upload-token': 'nothex' }] as Record<
      string,
      string
    >[])
      expect(() => parseDropCreated(headers(h), origin)).toThrow(expect.objectContaining({ code: 'RELAY_PROTOCOL' }));
  });

  it('takes an Upload-Offset from 0 to the length only', () => {
    expect(parseUploadOffset(headers({ 'upload-offset': '7' }), 9)).toBe(7);
    for (const value of ['', '-1', '1.5', '10', 'x', ' 7', '0x7', '7e0'])
      expect(() => parseUploadOffset(headers({ 'upload-offset': value }), 9)).toThrow(
        expect.objectContaining({ code: 'RELAY_PROTOCOL' }),
      );
  });

  it('reads a download: its status, length, lease, downloads left and expiry; a malformed lease is refused', () => {
    const fresh = {
      'content-length': '10',
      'portunus-lease': TOKEN,
      'portunus-downloads-left': '0',
      'portunus-expires': '99',
    };
    expect(parseDropDownload(200, false, headers(fresh))).toEqual({
      length: 10,
      lease: TOKEN,
      downloadsLeft: 0,
      expires: 99,
    });
    expect(parseDropDownload(206, true, headers({ 'content-length': '4' }))).toEqual({ length: 4 });
    for (const [status, resumed, h] of [
      [206, false, fresh],
      [200, true, fresh],
      [200, false, {}],
      [200, false, { ...fresh, 'portunus-lease': 'x\r\nSet-Cookie: a' }],
    ] as const)
      expect(() => parseDropDownload(status, resumed, headers(h))).toThrow(
        expect.objectContaining({ code: 'RELAY_PROTOCOL' }),
      );
  });

  it("keeps a refusal's code when it is one of ours; a bare 404 is DROPS_DISABLED; anything else RELAY_PROTOCOL", () => {
    expect(dropRefusal(410, 'DROP_GONE', 'used up\nmore')).toMatchObject({
      code: 'DROP_GONE',
      message: 'the relay refused: used up',
    });
    expect(dropRefusal(404, undefined, '')).toMatchObject({ code: 'DROPS_DISABLED' });
    expect(dropRefusal(400, 'NOT_OURS', '')).toMatchObject({ code: 'RELAY_PROTOCOL' });
    expect(dropRefusal(502, undefined, '')).toMatchObject({ code: 'RELAY_PROTOCOL' });
  });
});
