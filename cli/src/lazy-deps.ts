/**
 * CommonJS dependencies loaded on first use, with require: not at start-up (a single-file transfer needs neither
 * tar nor a QR code), and not through Node's ESM-to-CommonJS bridge (`import … from 'ws'`), which first scans every
 * CommonJS file for its named exports. Measured (issue #18, 21 alternating runs of a one-line .mjs each way): ws
 * costs ~70 ms of CPU to import and ~23 ms to require; a 1 KiB transfer pays it in both processes.
 */
import { createRequire } from 'node:module';
import type * as QrcodeTerminal from 'qrcode-terminal';
import type * as TarStream from 'tar-stream';
import type WebSocket from 'ws';

// Not named `require`: the bundle's banner (scripts/build.mjs) declares that name in every output file.
const requireCjs = createRequire(import.meta.url);

export const tarStream = (): typeof TarStream => requireCjs('tar-stream') as typeof TarStream;
export const qrcodeTerminal = (): typeof QrcodeTerminal => requireCjs('qrcode-terminal') as typeof QrcodeTerminal;
export const webSocket = (): typeof WebSocket => requireCjs('ws') as typeof WebSocket;
