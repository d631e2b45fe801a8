/**
 * RelayProxy (faults.ts) as a process of its own, for tests whose peers run inside a network namespace: run it
 * there with `node --import tsx relay-proxy-main.ts <relay url>`. It prints `{"url":…}` once listening, then
 * obeys one command per line on stdin: `hold N` (hold each client's messages after the first N), `release`,
 * `freeze BYTES` (hold data frames once BYTES went through; prints `frozen` when the first one is held), `thaw`.
 * Each command is answered with `ok`.
 */
import { createInterface } from 'node:readline';
import { afterDataBytes, RelayProxy } from './faults.js';

const proxy = await RelayProxy.start(process.argv[2]!);
proxy.onFrozen = () => void process.stdout.write('frozen\n');
process.stdout.write(`${JSON.stringify({ url: proxy.url })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const [command, arg] = line.trim().split(/\s+/);
  if (command === 'hold') proxy.holdMessagesAfter(Number(arg));
  else if (command === 'release') proxy.release();
  else if (command === 'freeze') proxy.freezeFrames(afterDataBytes(Number(arg)));
  else if (command === 'thaw') proxy.thaw();
  else continue;
  process.stdout.write('ok\n');
}
await proxy.close();
