/**
 * Shows the sender's code: the code itself, the exact command for the other side, and a QR code — of the link to the
 * relay's page when the relay serves one (a phone's camera opens it), else of the code's `portunus:` URI.
 */
import { qrcodeTerminal } from '../lazy-deps.js';
import { codeUri, formatCode, type Code } from '@portunus/protocol';
import type { Reporter } from './reporter.js';

export interface ShownCode {
  code: Code;
  /** Print a QR code (on a terminal only: the caller decides). */
  qr: boolean;
  /**
   * The relay in use, however this side found it (--relay, PORTUNUS_RELAY or the config file), since the other
   * computer may have none configured; undefined in LAN mode, where the code alone finds this computer.
   */
  relayUrl?: string;
  /** The link to the page the relay serves, with the code in its fragment (page-link.ts); none without a page. */
  link?: string;
  /** send --count: how many receivers the code serves (absent: one). */
  count?: number;
}

export function showCode(reporter: Reporter, shown: ShownCode): void {
  if (reporter.mode !== 'human') return;
  const text = formatCode(shown.code);
  const relay = shown.relayUrl === undefined ? '' : `--relay ${shellWord(shown.relayUrl)} `;
  reporter.say(`Code: ${reporter.bold(text)}`);
  const many = shown.count !== undefined && shown.count > 1;
  reporter.say(many ? `On each of up to ${shown.count} other computers, run:` : 'On the other computer, run:');
  reporter.say('');
  reporter.say(`    ${reporter.bold(`portunus receive ${relay}${text}`)}`);
  reporter.say('');
  if (shown.link !== undefined) {
    reporter.say(`Or open this link in a browser${shown.qr ? ' (on a phone: scan the QR code)' : ''}:`);
    reporter.say('');
    reporter.say(`    ${shown.link}`);
    reporter.say('');
  }
  if (shown.qr) {
    qrcodeTerminal().generate(shown.link ?? codeUri(shown.code), { small: true }, (qr: string) => reporter.say(qr));
  }
  reporter.say(many ? 'Waiting for the receivers… (Ctrl-C to cancel)' : 'Waiting for the receiver… (Ctrl-C to cancel)');
}

/** The URL as one word for a POSIX shell: as is when nothing in it is special there, else in single quotes. */
export function shellWord(text: string): string {
  return /^[\w.:/@%+=,~-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
