/**
 * The page browser.test.ts bundles and opens in headless Chromium: it loads the whole browser entry of the protocol
 * package, runs every vector check with the @noble/ciphers AEAD, runs the frame vectors through the data plane's
 * stream objects on the AEAD pageDataAead picks (WebCrypto when the page has `crypto.subtle`), and leaves its report
 * on `globalThis`.
 */
import { utf8 } from '../src/bytes.js';
import { nobleAead, nobleSha256 } from '../src/index.noble.js';
import { pageDataAead } from '../src/index.webcrypto.js';
import * as protocol from '../src/index.js';
import { PAGE_REPORT_GLOBAL, runDataFrameChecks, runVectorChecks, type PageReport } from './vector-checks.js';

const webCrypto = (globalThis as { crypto?: { subtle?: unknown } }).crypto;
const dataAead = pageDataAead();
const report: PageReport = {
  checks: runVectorChecks(nobleAead),
  exports: Object.keys(protocol).sort(),
  subtle: typeof webCrypto?.subtle,
  sha256Abc: digestOf('abc'),
  dataBackend: dataAead.backend,
  dataFrames: await runDataFrameChecks(dataAead.aead),
};
(globalThis as Record<string, unknown>)[PAGE_REPORT_GLOBAL] = report;

function digestOf(text: string): string {
  const hash = nobleSha256();
  hash.update(utf8(text));
  return hash.digestHex();
}
