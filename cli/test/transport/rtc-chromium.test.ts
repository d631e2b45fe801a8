/**
 * The RTC engine in real Chromium (Debian's /usr/bin/chromium, headless, through playwright-core) against the CLI's
 * werift and libdatachannel engines in this process: the page's test entry (rtc-chromium-page.ts) is bundled with
 * esbuild, served from 127.0.0.1, and its signals relayed through page.exposeFunction / page.evaluate. 8 MiB each
 * way with SHA-256 compared on arrival, the binding checked over the certificates actually presented; then the same
 * with Chromium's defaults, which hide its host addresses behind mDNS names the CLI cannot resolve.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asKey, MAX_FRAME_BYTES, toHex, type Role, type Signal } from '@portunus/protocol';
import { AsyncQueue, RTC_SEND_FRAME_BYTES, type SignalLink, type Transport } from '@portunus/client';
import { within } from '@portunus/client/transport-suite';
import { bundleForBrowser } from '../../../test/browser/bundle.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumSkipReason } from '../../../test/browser/chromium.js';
import { servePage, type StaticServer } from '../../../test/browser/serve.js';
import { WebRtcTransport } from '../../src/transport/webrtc.js';
import { connectWebRtc } from '../../src/transport/webrtc-connect.js';
import type { WebRtcEngineName } from '../../src/transport/webrtc-engine.js';
import { libdatachannelMissing } from './engines.js';
import type { RtcTest } from './rtc-chromium-page.js';
import { flowOf } from './rtc-flow.js';

const MiB = 1024 * 1024;
const TOTAL = 8 * MiB;
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const skip = chromiumSkipReason();
if (skip !== undefined) console.warn(`skipping the Chromium WebRTC tests: ${skip}`);
const ndcMissing = await libdatachannelMissing('Chromium against libdatachannel');
const ENGINES: WebRtcEngineName[] = ndcMissing === undefined ? ['werift', 'libdatachannel'] : ['werift'];

/** As test/browser/chromium.ts, plus loopback candidates; `mdns` keeps Chromium's default of hiding host addresses. */
function chromiumArgs(mdns: boolean): string[] {
  return [
    ...CHROMIUM_ARGS,
    ...(mdns ? [] : ['--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns']),
  ];
}

/**
 * Keeps the test on loopback: only candidates on 127.0.0.1 are passed on, so no connectivity check goes to this
 * machine's other addresses. Chromium's mDNS names are kept from the CLI too: werift asks the network who has one
 * (a multicast query on the LAN), Chromium answers with this machine's LAN address within milliseconds, and werift
 * then checks pairs there. The CLI learns the page's address from its connectivity checks alone, as the test says.
 */
function onLoopback(signal: Signal): boolean {
  return signal.kind !== 'candidate' || / 127\.0\.0\.1 \d+ typ /.test(signal.candidate);
}

interface Session {
  page: Page;
  /** Node's end of the signalling, wired to the page. */
  link: SignalLink;
  /** Every signal the page sent. */
  fromPage: Signal[];
  call<T>(fn: (test: RtcTest, arg: never) => Promise<T> | T, arg?: unknown): Promise<T>;
}

async function openSession(browser: Browser, server: StaticServer): Promise<Session> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const toNode = new AsyncQueue<Signal>(256);
  const fromPage: Signal[] = [];
  await page.exposeFunction('portunusSignal', (signal: Signal) => {
    fromPage.push(signal);
    return onLoopback(signal) ? toNode.push(signal) : Promise.resolve();
  });
  page.on('pageerror', (err) => console.warn(`page error: ${err.message}`));
  await page.goto(server.url);
  await page.waitForFunction(() => 'rtcTest' in globalThis);
  const call = <T>(fn: (test: RtcTest, arg: never) => Promise<T> | T, arg?: unknown): Promise<T> =>
    page.evaluate(
      ([source, value]) => (0, eval)(`(${source})`)((globalThis as unknown as { rtcTest: RtcTest }).rtcTest, value),
      [fn.toString(), arg] as const,
    ) as Promise<T>;
  const link: SignalLink = {
    sendSignal: async (signal) => {
      if (onLoopback(signal)) await call((test, s: Signal) => test.deliver(s), signal);
    },
    nextSignal: (abort) =>
      new Promise<Signal>((resolve, reject) => {
        if (abort?.aborted) return reject(abort.reason);
        abort?.addEventListener('abort', () => reject(abort.reason), { once: true });
        toNode.shift().then(resolve, reject);
      }),
  };
  return { page, link, fromPage, call };
}

/** Connects the page (as `pageRole`) with a CLI engine; resolves with the CLI's transport, or both outcomes. */
async function connect(session: Session, engine: WebRtcEngineName, pageRole: Role, pageKey = KEY) {
  const cliRole: Role = pageRole === 'send' ? 'receive' : 'send';
  const [page, cli] = await within(
    Promise.allSettled([
      session.call((test, [role, key]: [Role, string]) => test.connect(role, key), [pageRole, toHex(pageKey)]),
      connectWebRtc({
        role: cliRole,
        link: session.link,
        bindingKey: asKey('binding', KEY),
        iceServers: [],
        signal: AbortSignal.timeout(20_000),
        engine,
      }),
    ]),
    'both sides',
    30_000,
  );
  return { page, cli };
}

/** Hex SHA-256 of the certificate the CLI engine presented, and of the one it received. */
function cliCertificates(transport: Transport): { local: string; remote: string } {
  if (transport instanceof WebRtcTransport) {
    const dtls = (transport.pc as unknown as WeriftDtls).sctpTransport.dtlsTransport;
    return {
      local: sha256([new X509Certificate(dtls.localCertificate.certPem).raw]),
      remote: sha256([dtls.dtls.remoteCertificate]),
    };
  }
  const { pc } = (transport as unknown as { channel: { peer: { pc: NdcPeerConnection } } }).channel.peer;
  const hex = (colons: string | undefined) => (colons ?? '').replaceAll(':', '').toLowerCase();
  return {
    local: hex(/^a=fingerprint:sha-256 (\S+)\r?$/m.exec(pc.localDescription()?.sdp ?? '')?.[1]),
    remote: hex(pc.remoteFingerprint().value),
  };
}

interface WeriftDtls {
  sctpTransport: { dtlsTransport: { localCertificate: { certPem: string }; dtls: { remoteCertificate: Uint8Array } } };
}
type NdcPeerConnection = import('node-datachannel').PeerConnection;

function sha256(parts: Iterable<Uint8Array>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

async function sendFromNode(transport: Transport, frameBytes: number): Promise<string> {
  const data = randomBytes(TOTAL);
  for (let at = 0; at < TOTAL; at += frameBytes)
    await transport.send(new Uint8Array(data.subarray(at, at + frameBytes)));
  return sha256([data]);
}

async function receiveInNode(transport: Transport): Promise<string> {
  const parts: Uint8Array[] = [];
  let got = 0;
  for await (const frame of transport.frames()) {
    parts.push(new Uint8Array(frame));
    got += frame.length;
    if (got >= TOTAL) break;
  }
  return sha256(parts);
}

describe.skipIf(skip !== undefined)('the RTC engine in Chromium against the CLI engines', () => {
  let server: StaticServer;
  beforeAll(async () => {
    const bundle = await bundleForBrowser('cli/test/transport/rtc-chromium-page.ts');
    server = await servePage(bundle.code, 'Portunus WebRTC test');
  });
  afterAll(async () => {
    await server?.close();
  });

  for (const mdns of [false, true]) {
    describe(mdns ? 'Chromium defaults (host addresses behind mDNS names)' : 'loopback candidates, no mDNS', () => {
      let browser: Browser;
      beforeAll(async () => {
        browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: chromiumArgs(mdns) });
      });
      afterAll(async () => {
        await browser?.close();
      });

      for (const engine of ENGINES) {
        for (const pageRole of ['send', 'receive'] as const) {
          // Two faults of the stacks below us, seen only under load, run the whole test once more (the product
          // answers both: it dials again after a direct attempt that does not come up, rtc-redial.ts, and moves the
          // data off a path that stalls, stall.ts):
          // - werift offering to Chromium, about 1 connection in 30: Chromium sends the DCEP ACK and then nothing
          //   werift receives (its binding MAC never arrives as an SCTP DATA chunk), while the page counts itself
          //   bound;
          // - libdatachannel sending to Chromium, once in 4 suite runs with a core kept busy: that direction stopped
          //   for 90 s with 1 MiB queued in libdatachannel and 1 MiB more sent but never received, the page having
          //   consumed all it got; Node's credits, on the same direction, never arrived either, while the page's
          //   frames and credits kept reaching Node.
          it(
            `page (${pageRole}) ↔ ${engine}: 8 MiB each way, SHA-256 equal, bound over the certificates presented`,
            { retry: 1 },
            async () => {
              const session = await openSession(browser, server);
              const { page, cli } = await connect(session, engine, pageRole);
              expect(page).toEqual({ status: 'fulfilled', value: 'ok' });
              if (cli.status !== 'fulfilled') throw cli.reason;
              try {
                // The page bound over the certificate the CLI presented (not only the one its SDP names), and the CLI
                // over the page's: the same bytes on both sides.
                const certs = await session.call((test) => test.certificates());
                const cliCerts = cliCertificates(cli.value);
                expect(certs.presented).toBe(cliCerts.local);
                expect(certs.remoteSdp).toBe(cliCerts.local);
                expect(cliCerts.remote).toBe(certs.localSdp);
                // With Chromium's defaults the page offered mDNS names alone: the CLI could only learn its address from
                // its connectivity checks (a peer-reflexive candidate, whose address Chromium's stats then hide).
                const route = await session.call((test) => test.route());
                expect(route.remote).toMatch(mdns ? /^(host|prflx) (127\.0\.0\.1)?:\d+$/ : / 127\.0\.0\.1:\d+$/);
                const offered = session.fromPage.flatMap((s) => (s.kind === 'candidate' ? [s.candidate] : []));
                if (mdns) expect(offered.every((c) => / [0-9a-f-]+\.local \d+ typ host/.test(c))).toBe(true);
                // The CLI sends its largest frames (its default chunk is 1 MiB), the page the largest it may send.
                const transfers = Promise.all([
                  session.call(
                    (test, [total, size]: [number, number]) => test.send(total, size),
                    [TOTAL, RTC_SEND_FRAME_BYTES],
                  ),
                  within(receiveInNode(cli.value), 'Node receiving', 90_000),
                  within(sendFromNode(cli.value, MAX_FRAME_BYTES), 'Node sending', 90_000),
                  session.call((test, total: number) => test.receive(total), TOTAL),
                ]);
                const [sentByPage, gotInNode, sentByNode, gotInPage] = await transfers.catch(async (err: Error) => {
                  const page = await session.call((test) => test.flow());
                  throw new Error(
                    `${err.message}; flow: node ${JSON.stringify(flowOf(cli.value))}, page ${JSON.stringify(page)}`,
                  );
                });
                expect(gotInNode).toBe(sentByPage);
                expect(gotInPage).toEqual({ sha256: sentByNode, largest: MAX_FRAME_BYTES });
                // A frame over the browser's send limit is refused by name, not with the browser's bare TypeError.
                const over = RTC_SEND_FRAME_BYTES + 1;
                await expect(session.call((test, size: number) => test.send(size, size), over)).rejects.toThrow(
                  /over the WebRTC stack's limit \(262144 bytes\)/,
                );
              } finally {
                await Promise.all([cli.value.close(), session.call((test) => test.close())]);
                await session.page.context().close();
              }
            },
          );
        }

        it(`page ↔ ${engine}: a wrong binding key fails both sides with BINDING_MISMATCH`, async () => {
          const session = await openSession(browser, server);
          try {
            const { page, cli } = await connect(session, engine, 'receive', new Uint8Array(32).fill(9));
            if (cli.status === 'fulfilled') await cli.value.close();
            expect(cli.status).toBe('rejected');
            const codes = [
              page.status === 'fulfilled' ? page.value : 'connected',
              (cli as PromiseRejectedResult).reason.code,
            ];
            // As between the CLI's engines (ndc.test.ts): the side whose peer found the mismatch first may see the
            // close before the wrong MAC, and learns of the mismatch from the peer's sealed error (PROTOCOL.md §6.4).
            expect(codes).toContain('BINDING_MISMATCH');
            for (const code of codes) expect(['BINDING_MISMATCH', 'DIRECT_FAILED']).toContain(code);
          } finally {
            await session.page.context().close();
          }
        });
      }
    });
  }
});
