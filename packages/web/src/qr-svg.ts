/**
 * The code's link as a QR code, drawn as SVG: qrcode-terminal's vendored encoder (the same one the CLI prints
 * with), one path for all dark modules, a quiet zone of four modules as the standard asks. No inline style: the
 * colours are presentation attributes, which the page's Content-Security-Policy allows.
 */
import QRCode from 'qrcode-terminal/vendor/QRCode/index.js';
import QRErrorCorrectLevel from 'qrcode-terminal/vendor/QRCode/QRErrorCorrectLevel.js';

const SVG = 'http://www.w3.org/2000/svg';
const QUIET = 4;

export function qrSvg(text: string, label: string): SVGSVGElement {
  const qr = new QRCode(-1, QRErrorCorrectLevel.M);
  // The encoder writes one byte per UTF-16 unit: the link is ASCII (origin, '/#', the code).
  qr.addData(text);
  qr.make();
  const count = qr.getModuleCount();
  const size = count + 2 * QUIET;
  let d = '';
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (qr.isDark(row, col)) d += `M${col + QUIET} ${row + QUIET}h1v1h-1z`;
    }
  }
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('shape-rendering', 'crispEdges');
  const background = document.createElementNS(SVG, 'rect');
  background.setAttribute('width', String(size));
  background.setAttribute('height', String(size));
  background.setAttribute('fill', '#fff');
  const modules = document.createElementNS(SVG, 'path');
  modules.setAttribute('d', d);
  modules.setAttribute('fill', '#000');
  svg.append(background, modules);
  return svg;
}
