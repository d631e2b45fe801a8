/** Shows the sender's code: the code itself, the exact command for the other side, and a QR code of its URI. */
import qrcode from 'qrcode-terminal';
import { codeUri, formatCode, type Code } from '@portunus/protocol';
import type { Reporter } from './reporter.js';

/**
 * `relayUrl`: the relay in use, however this side found it (--relay, PORTUNUS_RELAY or the config file), since the
 * other computer may have none configured; undefined in LAN mode, where the code alone finds this computer.
 */
export function showCode(reporter: Reporter, code: Code, qr: boolean, relayUrl?: string): void {
  if (reporter.mode !== 'human') return;
  const shown = formatCode(code);
  const relay = relayUrl === undefined ? '' : `--relay ${shellWord(relayUrl)} `;
  reporter.say(`Code: ${reporter.bold(shown)}`);
  reporter.say('On the other computer, run:');
  reporter.say('');
  reporter.say(`    ${reporter.bold(`portunus receive ${relay}${shown}`)}`);
  reporter.say('');
  if (qr) {
    qrcode.generate(codeUri(code), { small: true }, (text: string) => reporter.say(text));
  }
  reporter.say('Waiting for the receiver… (Ctrl-C to cancel)');
}

/** The URL as one word for a POSIX shell: as is when nothing in it is special there, else in single quotes. */
function shellWord(text: string): string {
  return /^[\w.:/@%+=,~-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
