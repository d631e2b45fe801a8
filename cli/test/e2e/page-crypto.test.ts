/**
 * The page's crypto against the real CLI: a peer played in this process exactly as the page drives the client core
 * (the session on noble's synchronous AEAD, the data plane on pageDataAead's WebCrypto AES-GCM, noble SHA-256, the
 * relay path) against real `portunus send` / `receive` processes on node:crypto, through a real relay process.
 * Same bytes on the wire whatever the backend: the data arrives whole in both directions.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCode, generateSecret, parseCode, secureRandomBytes, type SessionConfig } from '@portunus/protocol';
import { nobleAead, nobleSha256 } from '@portunus/protocol/noble';
import { pageDataAead } from '@portunus/protocol/webcrypto';
import {
  ControlMux,
  type DataContext,
  type DataPlaneOptions,
  driveSession,
  receiveData,
  type RelayClient,
  sendData,
} from '@portunus/client';
import { connectRelay } from '../../src/relay-client/client.js';
import { exitOf, runPortunus, TRANSFER_MS, useRelayWorld } from './harness.js';

const world = useRelayWorld({ beforeAll, afterAll });
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const STALL_MS = 60_000;

/** The data plane's options as the page fills them: WebCrypto where it has crypto.subtle, the relay path only. */
function pageDataPlane(relay: RelayClient, control: ControlMux, data: DataContext, total: number): DataPlaneOptions {
  const picked = pageDataAead();
  expect(picked.backend).toBe('webcrypto');
  return {
    paths: { directTimeoutMs: 5_000, relay, connectors: {} },
    data,
    aead: picked.aead,
    sha256: nobleSha256,
    events: { progress: () => undefined, moved: () => undefined, debug: () => undefined },
    now: () => performance.now(),
    total,
    stallMs: STALL_MS,
    control,
  };
}

/** Runs one session as the page would, on `relay` (closed afterwards). */
async function pageSession(
  relay: RelayClient,
  config: Omit<SessionConfig, 'aead' | 'random' | 'abilities'>,
  plane: PlanePart,
) {
  try {
    const control = new ControlMux(relay, () => undefined);
    return await driveSession(control, {
      relayName: relay.relayName,
      waitMs: TRANSFER_MS,
      stallMs: STALL_MS,
      config: { ...config, abilities: ['relay-v1'], aead: nobleAead, random: secureRandomBytes },
      hooks: plane(relay, control),
    });
  } finally {
    await relay.close();
  }
}

type PlanePart = (relay: RelayClient, control: ControlMux) => Parameters<typeof driveSession>[1]['hooks'];

describe('the page crypto (WebCrypto data plane, noble session) against the CLI (node:crypto)', () => {
  it('page → CLI: `portunus receive` gets every byte', async () => {
    const content = randomBytes(5 * 1000 * 1000 + 17);
    const dir = join(world.tmp, 'to-cli');
    await mkdir(dir, { recursive: true });
    const relay = await connectRelay({ url: world.relay.url, agent: 'page-like/1.0' });
    const code = { nameplate: await relay.allocate(), secret: generateSecret(secureRandomBytes) };
    const receiver = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, formatCode(code)], {
      cwd: dir,
    });
    const sent = await pageSession(
      relay,
      { role: 'send', code, offer: { kind: 'file', name: 'data.bin', size: content.length } },
      (relayClient, control) => ({
        sendData: async (data) => {
          const chunks = (async function* () {
            for (let at = 0; at < content.length; at += 256 * 1024) yield content.slice(at, at + 256 * 1024);
          })();
          const { bytes, sha256: digest } = await sendData(
            pageDataPlane(relayClient, control, data, content.length),
            chunks,
          );
          return { bytes, sha256: digest };
        },
      }),
    );
    expect(await exitOf(receiver, TRANSFER_MS)).toBe(0);
    expect(sent).toMatchObject({ bytes: content.length, sha256: sha256(content) });
    expect(receiver.events().find((e) => e.event === 'done')).toMatchObject({ transport: 'relay' });
    expect(sha256(await readFile(join(dir, 'data.bin')))).toBe(sha256(content));
  });

  it('CLI → page: the page gets every byte from `portunus send`', async () => {
    const content = randomBytes(5 * 1000 * 1000 + 17);
    const dir = join(world.tmp, 'from-cli');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'data.bin'), content);
    const sender = runPortunus(['send', '--json', '--relay', world.relay.url, 'data.bin'], { cwd: dir });
    const code = parseCode(String((await sender.waitEvent('code')).code));
    if (!('nameplate' in code)) throw code;
    const written: Uint8Array[] = [];
    const relay = await connectRelay({ url: world.relay.url, agent: 'page-like/1.0' });
    await relay.claim(code.nameplate);
    const got = await pageSession(relay, { role: 'receive', code }, (relayClient, control) => {
      let stream: ReturnType<typeof receiveData> | undefined;
      return {
        onOffer: async () => ({ accept: true }),
        receiveData: async (data) => {
          const sink = { write: async (chunk: Uint8Array) => void written.push(Uint8Array.from(chunk)) };
          stream = receiveData(pageDataPlane(relayClient, control, data, content.length), sink);
          const { bytes, sha256: digest } = await stream.done;
          return { bytes, sha256: digest };
        },
        onPeerSent: () => stream?.peerSent(),
        commit: async () => undefined,
      };
    });
    expect(await exitOf(sender, TRANSFER_MS), sender.stdout() + sender.stderr()).toBe(0);
    expect(got).toMatchObject({ bytes: content.length, sha256: sha256(content) });
    expect(sha256(Buffer.concat(written))).toBe(sha256(content));
    expect(sender.events().find((e) => e.event === 'done')).toMatchObject({ transport: 'relay' });
  });
});
