/**
 * What the page's QR code encodes, checked module by module: the dark modules read back from the SVG `#qr` holds
 * (qr-svg.ts: a viewBox of the symbol plus a four-module quiet zone on each side, one `M{x} {y}h1v1h-1z` square per
 * dark module) against the matrix qrcode-terminal's vendored encoder makes of the expected text, with the settings
 * qr-svg.ts uses (the smallest version that fits, error correction level M). A QR code of any other text differs.
 */
/// <reference path="../src/qrcode-vendor.d.ts" />
import QRCode from 'qrcode-terminal/vendor/QRCode/index.js';
import QRErrorCorrectLevel from 'qrcode-terminal/vendor/QRCode/QRErrorCorrectLevel.js';
import type { Page } from 'playwright-core';

const QUIET = 4;
const MODULE = /M(\d+) (\d+)h1v1h-1z/y;

/** The symbol as rows of '#' (dark) and '.' (light), quiet zone left out. */
export function encodedMatrix(text: string): string[] {
  const qr = new QRCode(-1, QRErrorCorrectLevel.M);
  qr.addData(text);
  qr.make();
  const count = qr.getModuleCount();
  return Array.from({ length: count }, (_, row) =>
    Array.from({ length: count }, (_, col) => (qr.isDark(row, col) ? '#' : '.')).join(''),
  );
}

/** The symbol the page draws in `#qr`, in the same form; throws on a drawing it cannot read whole. */
export async function shownMatrix(page: Page): Promise<string[]> {
  const viewBox = await page.locator('#qr svg').getAttribute('viewBox');
  const d = (await page.locator('#qr svg path').getAttribute('d')) ?? '';
  const size = /^0 0 (\d+) \1$/.exec(viewBox ?? '');
  if (!size) throw new Error(`#qr's viewBox is not a square from the origin: ${viewBox}`);
  const count = Number(size[1]) - 2 * QUIET;
  const rows = Array.from({ length: count }, () => Array<string>(count).fill('.'));
  MODULE.lastIndex = 0;
  while (MODULE.lastIndex < d.length) {
    const at = MODULE.lastIndex;
    const m = MODULE.exec(d);
    if (!m) throw new Error(`#qr's path has something other than unit squares at ${at}: ${d.slice(at, at + 40)}`);
    const [col, row] = [Number(m[1]) - QUIET, Number(m[2]) - QUIET];
    const cells = rows[row];
    if (cells?.[col] === undefined) throw new Error(`#qr draws a module outside the symbol: ${m[0]}`);
    cells[col] = '#';
  }
  return rows.map((row) => row.join(''));
}
