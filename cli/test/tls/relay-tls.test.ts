/**
 * A relay behind TLS with a private CA, as self-hosters run it: a real relay on 127.0.0.1 behind a TLS endpoint
 * made by the test (tls-front.ts), certificates made at run time with openssl (certificates.ts), real
 * `portunus send` and `receive` processes. The CA is trusted through --ca, PORTUNUS_CA, the config file's `ca`
 * or NODE_EXTRA_CA_CERTS; https:// relay URLs mean wss://.
 */
import type { PortunusError } from '@portunus/protocol';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RelayHandle } from '@portunus/relay';
import { connectRelay } from '../../src/relay-client/client.js';
import { relayCaFrom } from '../../src/relay-client/relay-ca.js';
import { explainTlsFailure } from '../../src/relay-client/tls.js';
import { exitOf, runPortunus, type Proc } from '../e2e/harness.js';
import { makeCertificates, type TestCertificates } from './certificates.js';
import { startTlsFront, type TlsFront } from './tls-front.js';
import { exitCodeOf } from '../../src/ui/error-guide.js';

let tmp: string;
let certs: TestCertificates;
let relay: RelayHandle;
const fronts: Record<string, TlsFront> = {};

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'portunus-tls-'));
  certs = makeCertificates(tmp);
  relay = await startRelay({ host: '127.0.0.1', port: 0, graceMs: 0 });
  const relayPort = Number(new URL(relay.url).port);
  fronts.good = await startTlsFront(certs.good, relayPort);
  fronts.selfSigned = await startTlsFront(certs.selfSigned, relayPort);
  fronts.goodWithChain = await startTlsFront(certs.goodWithChain, relayPort);
  fronts.wrongHost = await startTlsFront(certs.wrongHost, relayPort);
  fronts.expired = await startTlsFront(certs.expired, relayPort);
});

afterAll(async () => {
  await Promise.all(Object.values(fronts).map((f) => f.close()));
  await relay?.close(0);
  await rm(tmp, { recursive: true, force: true });
});

let folders = 0;
async function folder(): Promise<string> {
  const path = join(tmp, `run${folders++}`);
  await mkdir(path);
  return path;
}

/** Runs send (of data.bin, unless sendArgs has --text) then receive, both --json through the relay only; waits for both. */
async function transfer(
  sendArgs: string[],
  receiveArgs: string[],
  env: { send?: Record<string, string>; receive?: Record<string, string> } = {},
): Promise<{ sender: Proc; receiver: Proc; codes: (number | null)[]; sent: Buffer; dst: string }> {
  const src = await folder();
  const dst = await folder();
  const sent = randomBytes(300_000);
  await writeFile(join(src, 'data.bin'), sent);
  const sender = runPortunus(
    ['send', '--json', '--transport', 'relay', ...sendArgs, ...(sendArgs.includes('--text') ? [] : ['data.bin'])],
    { cwd: src, env: env.send },
  );
  const code = String((await sender.waitEvent('code')).code);
  const receiver = runPortunus(['receive', '--json', '--yes', '--transport', 'relay', ...receiveArgs, code], {
    cwd: dst,
    env: env.receive,
  });
  const codes = await Promise.all([exitOf(sender, 30_000), exitOf(receiver, 30_000)]);
  return { sender, receiver, codes, sent, dst };
}

describe('a relay behind TLS with a private CA', () => {
  it('--ca on one side, PORTUNUS_CA on the other: the file crosses, and https:// is taken as wss://', async () => {
    const port = fronts.good!.port;
    const { sender, receiver, codes, sent, dst } = await transfer(
      ['--relay', `wss://127.0.0.1:${port}`, '--ca', certs.ca],
      ['--relay', `https://localhost:${port}`],
      { receive: { PORTUNUS_CA: certs.ca } },
    );
    expect(codes, sender.stderr() + receiver.stderr()).toEqual([0, 0]);
    expect((await readFile(join(dst, 'data.bin'))).equals(sent)).toBe(true);
    expect(receiver.events().find((e) => e.event === 'done')).toMatchObject({ transport: 'relay' });
  });

  it("the config file's relay (an https:// URL) and ca, and NODE_EXTRA_CA_CERTS, work the same", async () => {
    const config = await folder();
    for (const setting of [
      ['relay', `https://localhost:${fronts.good!.port}`],
      ['ca', certs.ca],
    ]) {
      const set = runPortunus(['config', 'set', ...setting], { env: { XDG_CONFIG_HOME: config } });
      expect(await exitOf(set), set.stderr()).toBe(0);
    }
    const { sender, receiver, codes } = await transfer(
      ['--text', 'hello over TLS'],
      ['--relay', `wss://localhost:${fronts.good!.port}`],
      {
        send: { XDG_CONFIG_HOME: config },
        receive: { NODE_EXTRA_CA_CERTS: certs.ca },
      },
    );
    expect(codes, sender.stderr() + receiver.stderr()).toEqual([0, 0]);
    expect(receiver.events().find((e) => e.event === 'done')).toMatchObject({ text: 'hello over TLS' });
  });

  it('a self-signed relay certificate is trusted when --ca names it', async () => {
    const { codes, sender, receiver } = await transfer(
      ['--relay', `wss://127.0.0.1:${fronts.selfSigned!.port}`, '--ca', certs.selfSigned.cert],
      ['--relay', `wss://127.0.0.1:${fronts.selfSigned!.port}`, '--ca', certs.selfSigned.cert],
    );
    expect(codes, sender.stderr() + receiver.stderr()).toEqual([0, 0]);
  });
});

describe('TLS failures: each its own error, message and hint, exit 6', () => {
  const cases: [string, () => string, string[], string, RegExp, RegExp][] = [
    [
      'a CA this computer does not trust',
      () => `wss://127.0.0.1:${fronts.good!.port}`,
      [],
      'TLS_UNTRUSTED',
      /^the relay's certificate \(for localhost, 127\.0\.0\.1\) is issued by 'Portunus Test CA', which this computer does not trust$/,
      /--ca FILE/,
    ],
    [
      'the same, the relay sending its whole chain',
      () => `wss://127.0.0.1:${fronts.goodWithChain!.port}`,
      [],
      'TLS_UNTRUSTED',
      /is issued by 'Portunus Test CA', which this computer does not trust$/,
      /--ca FILE/,
    ],
    [
      'a self-signed certificate',
      () => `wss://127.0.0.1:${fronts.selfSigned!.port}`,
      [],
      'TLS_SELF_SIGNED',
      /^the relay at 127\.0\.0\.1 presented a self-signed certificate \(for localhost, 127\.0\.0\.1\)$/,
      /pass it with --ca FILE/,
    ],
    [
      'a certificate for another name',
      () => `wss://127.0.0.1:${fronts.wrongHost!.port}`,
      ['--ca', 'CA'],
      'TLS_WRONG_HOST',
      /^the relay's certificate is for relay\.example\.org, not 127\.0\.0\.1$/,
      /a name the certificate is for/,
    ],
    [
      'an expired certificate',
      () => `https://localhost:${fronts.expired!.port}`,
      ['--ca', 'CA'],
      'TLS_EXPIRED',
      /^the relay's certificate expired on 2020-01-02 00:00 UTC$/,
      /must renew its certificate/,
    ],
    [
      'wss:// to a relay without TLS',
      () => relay.url.replace('ws:', 'wss:'),
      [],
      'TLS_FAILED',
      /^the relay at 127\.0\.0\.1:\d+ does not answer TLS: is it a plain ws:\/\/ \(http:\/\/\) relay\?$/,
      /ws:\/\/ for a plain one/,
    ],
  ];
  it.each(cases)('%s', async (_, url, extra, code, message, hint) => {
    const args = extra.map((a) => (a === 'CA' ? certs.ca : a));
    const p = runPortunus(['send', '--json', '--relay', url(), ...args, '--text', 'x']);
    expect(await exitOf(p)).toBe(6);
    const error = p.events().find((e) => e.event === 'error');
    expect(error, p.stdout() + p.stderr()).toMatchObject({ error: code, exit: 6 });
    expect(error!.message).toMatch(message);
    expect(error!.hint).toMatch(hint);
  });

  it('receive reports it the same way, in human form: the message, then the hint', async () => {
    const p = runPortunus(['receive', '--yes', '--relay', `wss://127.0.0.1:${fronts.selfSigned!.port}`, '7-AAAAAA']);
    expect(await exitOf(p)).toBe(6);
    expect(p.stderr()).toMatch(
      /^portunus: the relay at 127\.0\.0\.1 presented a self-signed certificate.*\n {2}hint: If this is your relay's own certificate, pass it with --ca FILE/m,
    );
  });

  it("what the certificate says is the relay's text: at most five names, each cut short", () => {
    const names = Array.from({ length: 50 }, (_, i) => `DNS:${'n'.repeat(300)}${i}.example`).join(', ');
    const err = Object.assign(new Error('altnames'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    const e = explainTlsFailure(err, new URL('wss://127.0.0.1/v1'), { subjectaltname: names } as never)!;
    expect(e.code).toBe('TLS_WRONG_HOST');
    expect(e.message).toMatch(/^the relay's certificate is for (n{100}…, ){5}…, not 127\.0\.0\.1$/);
    expect(
      explainTlsFailure(
        Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
        new URL('wss://x/v1'),
        undefined,
      ),
    ).toBeUndefined();
  });
});

describe('--ca adds to the trusted roots, it does not replace them', () => {
  it('keeps the certificates NODE_EXTRA_CA_CERTS names (Node alone would drop them)', async () => {
    const url = `wss://127.0.0.1:${fronts.selfSigned!.port}`;
    const withExtra = relayCaFrom(certs.ca, { NODE_EXTRA_CA_CERTS: certs.selfSigned.cert }, tmp);
    const client = await connectRelay({ url, agent: 'test/1', ca: withExtra });
    await client.close();
    await expect(connectRelay({ url, agent: 'test/1', ca: relayCaFrom(certs.ca, {}, tmp) })).rejects.toSatisfy(
      (err: PortunusError) => exitCodeOf(err) === 6,
    );
  });
});

describe('a CA file that cannot be used is a usage error before anything starts (exit 2)', () => {
  it.each([
    ['missing', (dir: string) => join(dir, 'nothing-here.pem'), /cannot read --ca file .*ENOENT/],
    ['not PEM', (dir: string) => join(dir, 'not-pem.txt'), /holds no PEM certificate/],
    ['a folder', (dir: string) => dir, /is not a regular file/],
  ])('%s', async (_, pathIn, message) => {
    const dir = await folder();
    await writeFile(join(dir, 'not-pem.txt'), 'hello\n');
    const p = runPortunus(['send', '--relay', relay.url, '--ca', pathIn(dir), '--text', 'x']);
    expect(await exitOf(p)).toBe(2);
    expect(p.stderr()).toMatch(message);
    expect(p.stderr()).toMatch(/hint: Give a PEM file/);
  });

  it('a certificate block that does not parse', async () => {
    const dir = await folder();
    const bad = join(dir, 'bad.pem');
    await writeFile(bad, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(() => relayCaFrom(bad, {}, dir)).toThrow(/does not parse/);
  });

  it('PORTUNUS_CA is resolved against the working folder; --ca wins over it', async () => {
    expect(() => relayCaFrom(undefined, { PORTUNUS_CA: 'ca.pem' }, tmp)).not.toThrow();
    expect(() => relayCaFrom(undefined, { PORTUNUS_CA: 'ca.pem' }, '/')).toThrow(/PORTUNUS_CA file '\/ca.pem'/);
    expect(() => relayCaFrom(certs.ca, { PORTUNUS_CA: '/nothing-here.pem' }, '/')).not.toThrow();
  });
});
