import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { relayCommand, type RelayCommandDeps } from '../src/command.js';
import { relayConfigFromEnv, resolveRelayConfig } from '../src/config.js';
import { pipe, RawClient, within } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the command in-process with a fake environment and fake signals; returns its stdout lines as they come. */
function runInProcess(args: string[], env: Record<string, string>) {
  const signals = new EventEmitter();
  const lines: string[] = [];
  const logs: string[] = [];
  let wake: () => void = () => {};
  const deps: RelayCommandDeps = {
    env,
    stdout: (text) => {
      lines.push(...text.trim().split('\n'));
      wake();
    },
    stderr: (text) => void logs.push(text),
    signals: signals as unknown as RelayCommandDeps['signals'],
  };
  const done = relayCommand(deps).parseAsync(args, { from: 'user' });
  const firstLine = within(
    (async () => {
      while (lines.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return lines[0]!;
    })(),
    'the listening line',
  );
  return { signals, lines, logs, done, firstLine };
}

describe('relay configuration', () => {
  it('reads every option from PORTUNUS_RELAY_* with units', () => {
    expect(
      relayConfigFromEnv({
        PORTUNUS_RELAY_PORT: '5000',
        PORTUNUS_RELAY_NAME: 'env-relay',
        PORTUNUS_RELAY_TRUST_PROXY: '10.0.0.0/8, 2001:db8::/32,192.0.2.7',
        PORTUNUS_RELAY_NAMEPLATE_TTL: '1.5',
        PORTUNUS_RELAY_MAX_MESSAGE_SIZE: '64KiB',
        PORTUNUS_RELAY_HIGH_WATER_MARK: '2m',
        PORTUNUS_RELAY_TRANSFER_BYTE_CAP: '0',
        PORTUNUS_RELAY_GRACE: '',
      }),
    ).toEqual({
      port: 5000,
      name: 'env-relay',
      trustProxy: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'],
      nameplateTtlMs: 1500,
      maxMessageBytes: 65536,
      highWaterMark: 2 * 1024 * 1024,
      transferByteCap: 0,
    });
  });

  it.each([
    ['PORTUNUS_RELAY_PORT', '70000'],
    ['PORTUNUS_RELAY_PORT', 'abc'],
    ['PORTUNUS_RELAY_MAX_CONNECTIONS', '0'],
    ['PORTUNUS_RELAY_TRUST_PROXY', 'maybe'],
    ['PORTUNUS_RELAY_TRUST_PROXY', '10.0.0.0/33'],
    ['PORTUNUS_RELAY_TRUST_PROXY', '10.0.0.1,,10.0.0.2'],
    ['PORTUNUS_RELAY_MAX_FRAME_SIZE', '1 TiB'],
    ['PORTUNUS_RELAY_NAMEPLATE_TTL', '-1'],
  ])('rejects %s=%s as a usage error naming the variable', (name, value) => {
    expect(() => relayConfigFromEnv({ [name]: value })).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringContaining(name) }),
    );
  });

  it('reads --trust-proxy alone as "trust the socket peer", and yes/no or a list from the environment', () => {
    expect(relayConfigFromEnv({ PORTUNUS_RELAY_TRUST_PROXY: 'true' })).toEqual({ trustProxy: true });
    expect(relayConfigFromEnv({ PORTUNUS_RELAY_TRUST_PROXY: 'off' })).toEqual({ trustProxy: false });
    expect(resolveRelayConfig({ trustProxy: ['::1'] }).trustProxy).toEqual(['::1']);
    expect(() => resolveRelayConfig({ trustProxy: ['proxy.example'] })).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
  });

  it('checks values given programmatically too', () => {
    expect(() => resolveRelayConfig({ highWaterMark: 10 })).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => resolveRelayConfig({ name: 'has space' })).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => resolveRelayConfig({ motd: 'bell\u0007' })).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(resolveRelayConfig({}).port).toBe(4747);
  });
});

describe('portunus relay (in-process)', () => {
  it('prefers flags over the environment over defaults, and stops on SIGTERM', async () => {
    const run = runInProcess(['--host', '127.0.0.1', '--port', '0', '--name', 'flag-name', '--json'], {
      PORTUNUS_RELAY_NAME: 'env-name',
      PORTUNUS_RELAY_MOTD: 'from env',
      PORTUNUS_RELAY_PORT: '1',
    });
    const event = JSON.parse(await run.firstLine) as { event: string; url: string; urls: string[] };
    expect(event.event).toBe('listening');
    expect(event.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(event.urls).toEqual([event.url.replace('/v1', '')]);
    const client = await RawClient.connect(event.url);
    client.json({ type: 'hello', protocol: 1, agent: 't' });
    expect(await client.expect('welcome')).toEqual({
      type: 'welcome',
      protocol: 1,
      relay: 'flag-name',
      motd: 'from env',
    });
    run.signals.emit('SIGTERM');
    expect(await client.closeCode()).toBe(4010);
    await within(run.done, 'the command to return');
    expect(run.lines.at(-1)).toBe('{"event":"stopped"}');
  });

  it.each([
    [['--trust-proxy'], '203.0.113.5'],
    [['--trust-proxy', '127.0.0.0/8,::1'], '203.0.113.5'],
    [['--trust-proxy', '192.0.2.0/24'], '127.0.0.1'],
    [[], '127.0.0.1'],
  ])('%j: the client address is %s', async (flags, address) => {
    const run = runInProcess(['--host', '127.0.0.1', '--port', '0', '--json', '--verbose', ...flags], {});
    const { url } = JSON.parse(await run.firstLine) as { url: string };
    const client = await RawClient.connect(url, { headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.5' } });
    client.json({ type: 'hello', protocol: 1, agent: 't' });
    await client.expect('welcome');
    expect(run.logs.join('')).toMatch(new RegExp(`connected conn=1 ip=${address.replaceAll('.', '\\.')}\n`));
    run.signals.emit('SIGTERM');
    await within(run.done, 'the command to return');
  });

  it.each([
    [['--page-dir', 'DIR'], {}, true],
    [['--page-dir', 'DIR', '--no-page'], {}, false],
    [['--no-page'], { PORTUNUS_RELAY_PAGE_DIR: 'DIR' }, false],
    [[], { PORTUNUS_RELAY_PAGE_DIR: 'DIR', PORTUNUS_RELAY_NO_PAGE: 'true' }, false],
    [[], { PORTUNUS_RELAY_PAGE_DIR: 'DIR', PORTUNUS_RELAY_NO_PAGE: 'false' }, true],
  ])('%j with %j: serves the page %s', async (flags, env, serves) => {
    const dir = await mkdtemp(join(tmpdir(), 'portunus-page-'));
    await writeFile(join(dir, 'index.html'), '<!doctype html>');
    const withDir = (values: Record<string, string>) =>
      Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v === 'DIR' ? dir : v]));
    const args = flags.map((flag) => (flag === 'DIR' ? dir : flag));
    const run = runInProcess(['--host', '127.0.0.1', '--port', '0', '--json', ...args], withDir(env));
    const { url } = JSON.parse(await run.firstLine) as { url: string };
    const page = await fetch(url.replace(/^ws/, 'http').replace(/\/v1$/, '/'));
    expect(page.status).toBe(serves ? 200 : 404);
    const client = await RawClient.connect(url);
    client.json({ type: 'hello', protocol: 1, agent: 't' });
    expect((await client.expect('welcome')).page).toBe(serves ? true : undefined);
    run.signals.emit('SIGTERM');
    await within(run.done, 'the command to return');
    await rm(dir, { recursive: true, force: true });
  });

  it('rejects a bad flag value as a usage error', async () => {
    await expect(
      relayCommand({ env: {}, stdout: () => {} }).parseAsync(['--max-message-size', 'lots'], { from: 'user' }),
    ).rejects.toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('--max-message-size') }),
    );
  });
});

/** Starts relay/src/main.ts in a child process (through tsx, so no build is needed). */
function spawnRelay(args: string[]): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, ['--import', 'tsx', 'relay/src/main.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORTUNUS_RELAY_PORT: '' },
  });
}

function firstLine(stream: Readable): Promise<string> {
  return within(
    new Promise((resolve, reject) => {
      let text = '';
      stream.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
      });
      stream.on('end', () => reject(new Error(`stream ended before a line: ${text}`)));
    }),
    'a line from the relay process',
    20_000,
  );
}

function exited(child: ChildProcessByStdio<null, Readable, Readable>): Promise<number | null> {
  return within(
    new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    'the relay process to exit',
    20_000,
  );
}

describe('portunus relay (child process)', () => {
  it('prints the URL, drains on SIGTERM (running pipe finishes, idle gets 4010) and exits 0', async () => {
    const child = spawnRelay(['--port', '0', '--host', '127.0.0.1', '--json', '--grace', '30']);
    let stdout = '';
    const line = await firstLine(child.stdout);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exit = exited(child);
    const { url } = JSON.parse(line) as { url: string };
    const { a, b } = await pipe(url);
    const idle = await RawClient.hello(url);

    child.kill('SIGTERM');
    expect(await idle.closeCode()).toBe(4010);
    a.ws.send(Buffer.alloc(50_000, 7));
    await b.until(() => b.binaryBytes === 50_000, 'data after SIGTERM');
    a.close();
    b.close();
    expect(await exit).toBe(0);
    expect(stdout).toContain('{"event":"stopped"}');
  });

  it('prints the human line, stops on SIGINT, and metrics include process metrics', async () => {
    const child = spawnRelay(['--port', '0', '--host', '127.0.0.1', '--quiet']);
    const line = await firstLine(child.stdout);
    const [, port] = /^Relay listening on port (\d+): ws:\/\/127\.0\.0\.1:(\d+)$/.exec(line) ?? [];
    expect(line).toBe(`Relay listening on port ${port}: ws://127.0.0.1:${port}`);
    const exit = exited(child);
    const base = `http://127.0.0.1:${port}`;
    const metrics = await within(
      fetch(`${base}/metrics`).then((r) => r.text()),
      'metrics',
    );
    expect(metrics).toContain('process_resident_memory_bytes');
    child.kill('SIGINT');
    expect(await exit).toBe(0);
  });

  it('exits with the usage code when the port is taken', async () => {
    const first = spawnRelay(['--port', '0', '--host', '127.0.0.1']);
    const port = /^Relay listening on port (\d+)/.exec(await firstLine(first.stdout))![1]!;
    const firstExit = exited(first);
    const second = spawnRelay(['--port', port, '--host', '127.0.0.1']);
    let stderr = '';
    second.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exited(second)).toBe(2);
    expect(stderr).toContain('address in use');
    first.kill('SIGTERM');
    expect(await firstExit).toBe(0);
  });
});

describe('README.md "Run your own relay"', () => {
  it('documents every flag and environment variable', async () => {
    const { readFileSync } = await import('node:fs');
    const { RELAY_OPTIONS } = await import('../src/relay-options.js');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const option of RELAY_OPTIONS) {
      expect(readme, option.flag).toContain(`\`--${option.flag}`);
      expect(readme, option.env).toContain(`\`${option.env}\``);
    }
    for (const extra of [
      '--json',
      '--log-format',
      '--quiet',
      '--verbose',
      'PORTUNUS_RELAY_LOG_FORMAT',
      'PORTUNUS_RELAY_QUIET',
      'PORTUNUS_RELAY_JSON',
    ]) {
      expect(readme).toContain(extra);
    }
    const { ERRORS } = await import('../../packages/protocol/src/errors.js');
    for (const [code, spec] of Object.entries(ERRORS)) {
      if ('close' in spec) expect(readme, code).toContain(`| ${spec.close} | \`${code}\` |`);
    }
  });
});
