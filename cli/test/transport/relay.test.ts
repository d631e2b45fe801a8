/** The shared transport suite over a real relay pipe: an in-process relay on 127.0.0.1, two relay clients. */
import { afterAll, beforeAll } from 'vitest';
import { startRelay, type RelayHandle } from '@portunus/relay';
import { connectRelay } from '../../src/relay-client/client.js';
import { RelayTransport } from '@portunus/client';
import { transportSuite, within } from '@portunus/client/transport-suite';
import { nextMessage, nextPaired } from '../relay-events.js';

let relay: RelayHandle;
beforeAll(async () => {
  relay = await startRelay({ host: '127.0.0.1', port: 0, graceMs: 0 });
});
afterAll(async () => {
  await relay.close(0);
});

transportSuite('relay', async () => {
  const a = await connectRelay({ url: relay.url, agent: 'test/1' });
  const b = await connectRelay({ url: relay.url, agent: 'test/1' });
  const nameplate = await a.allocate();
  await b.claim(nameplate);
  await within(Promise.all([nextPaired(a), nextPaired(b)]), 'pairing');
  // What a key exchange looks like to the relay (side a's second message completes it), so that either side may
  // leave later without the relay counting a claim-and-leave against the address.
  a.sendMessage(new Uint8Array([1]));
  b.sendMessage(new Uint8Array([2]));
  a.sendMessage(new Uint8Array([3]));
  await within(Promise.all([nextMessage(b), nextMessage(b), nextMessage(a)]), 'the exchange');
  const [ta, tb] = await within(Promise.all([RelayTransport.open(a), RelayTransport.open(b)]), 'the pipe');
  const clients = { a, b };
  return {
    a: ta,
    b: tb,
    drop: (side) => clients[side].close(),
    dispose: async () => {
      await Promise.all([a.close(), b.close()]);
    },
  };
});
