/**
 * Shows a stored drop's code: the code, the receive command, what the relay keeps it for, the link to the relay's
 * page when it serves one (`https://relay/#D-…`: the page downloads the drop), and a QR code of that link, else of
 * the code's URI.
 */
import { qrcodeTerminal } from '../lazy-deps.js';
import { dropCodeUri, formatDropCode, type DropCode } from '@portunus/protocol';
import { formatDuration } from './duration.js';
import type { Reporter } from '../ui/reporter.js';
import { shellWord } from '../ui/show-code.js';

export function showDropCode(
  reporter: Reporter,
  shown: { code: DropCode; relayUrl: string; qr: boolean; expires: number; downloads: number; link?: string },
): void {
  if (reporter.mode !== 'human') return;
  const text = formatDropCode(shown.code);
  const times = shown.downloads === 1 ? 'one download' : `${shown.downloads} downloads`;
  reporter.say(`Stored on the relay for ${formatDuration(shown.expires)} or ${times}, whichever ends first.`);
  reporter.say(`Code: ${reporter.bold(text)}`);
  reporter.say('To receive it, on any computer, run:');
  reporter.say('');
  reporter.say(`    ${reporter.bold(`portunus receive --relay ${shellWord(shown.relayUrl)} ${text}`)}`);
  reporter.say('');
  if (shown.link !== undefined) {
    reporter.say(`Or open this link in a browser${shown.qr ? ' (on a phone: scan the QR code)' : ''}:`);
    reporter.say('');
    reporter.say(`    ${shown.link}`);
    reporter.say('');
  }
  if (shown.qr) {
    qrcodeTerminal().generate(shown.link ?? dropCodeUri(shown.code), { small: true }, (qr: string) => reporter.say(qr));
  }
}
