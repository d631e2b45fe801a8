/**
 * What the sender shows: with a relay that serves the page, the link (the code in its fragment) printed and the QR
 * code encoding it, so a phone's camera opens the page; without one, the QR code of the `portunus:` URI as before.
 * The QR codes are compared with qrcode-terminal's own rendering of the expected text.
 */
import qrcode from 'qrcode-terminal';
import { describe, expect, it } from 'vitest';
import { codeUri, parseCode, type Code } from '@portunus/protocol';
import { Reporter } from '../../src/ui/reporter.js';
import { showCode } from '../../src/ui/show-code.js';
import { captured, fakeClock } from './fake-clock.js';

const CODE = parseCode('7-H7K-29A') as Code;
const LINK = 'https://relay.example/#7-H7K-29A';

function shown(link: string | undefined, qr = true): string {
  const stderr = captured(true);
  const reporter = new Reporter({
    mode: 'human',
    jsonStream: captured().stream,
    stderr: stderr.stream,
    verbose: false,
    color: false,
    clock: fakeClock(),
  });
  showCode(reporter, { code: CODE, qr, relayUrl: 'wss://relay.example', link });
  return stderr.text();
}

function qrOf(text: string): string {
  let out = '';
  qrcode.generate(text, { small: true }, (qr: string) => (out = qr));
  return out;
}

describe('showCode', () => {
  it('prints the link and QR-encodes it when the relay serves the page', () => {
    const text = shown(LINK);
    expect(text).toContain('portunus receive --relay wss://relay.example 7-H7K-29A');
    expect(text).toContain(`Or open this link in a browser (on a phone: scan the QR code):\n\n    ${LINK}\n`);
    expect(text).toContain(qrOf(LINK));
    expect(text).not.toContain(qrOf(codeUri(CODE)));
  });

  it('QR-encodes the portunus: URI and prints no link without a page', () => {
    const text = shown(undefined);
    expect(text).toContain(qrOf(codeUri(CODE)));
    expect(text).not.toContain('https://');
    expect(text).not.toContain('browser');
  });

  it('prints the link without mentioning a QR code under --no-qr', () => {
    const text = shown(LINK, false);
    expect(text).toContain(`Or open this link in a browser:\n\n    ${LINK}\n`);
    expect(text).not.toContain(qrOf(LINK));
  });
});
