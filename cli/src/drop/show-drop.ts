/** Shows a stored drop's code: the code, the receive command, what the relay keeps it for, and a QR code of its URI. */
import qrcode from 'qrcode-terminal';
import { dropCodeUri, formatDropCode, type DropCode } from '@portunus/protocol';
import { formatDuration } from './duration.js';
import type { Reporter } from '../ui/reporter.js';
import { shellWord } from '../ui/show-code.js';

export function showDropCode(
  reporter: Reporter,
  shown: { code: DropCode; relayUrl: string; qr: boolean; expires: number; downloads: number },
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
  if (shown.qr) qrcode.generate(dropCodeUri(shown.code), { small: true }, (qr: string) => reporter.say(qr));
}
