/** Shows the sender's code: the code itself, the exact command for the other side, and a QR code of its URI. */
import qrcode from 'qrcode-terminal';
import { codeUri, formatCode, type Code } from '../protocol.js';
import type { Reporter } from './reporter.js';

/** `relayArg`: the relay URL when it came from --relay, so the command shown works as typed on the other side. */
export function showCode(reporter: Reporter, code: Code, qr: boolean, relayArg?: string): void {
  if (reporter.mode !== 'human') return;
  const shown = formatCode(code);
  const relay = relayArg === undefined ? '' : `--relay ${relayArg} `;
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
