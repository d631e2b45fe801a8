/**
 * Transfers that survive a lost relay connection while both processes live (PROTOCOL.md §2.13), end to end: real
 * `portunus relay`, `send` and `receive` processes on 127.0.0.1. The faults are the harness's alone: a relay process
 * killed with SIGKILL and started again on the same port, and TCP proxies (faults.ts) that freeze the connections
 * open at half the file (so the kill lands at about 50% whatever the machine's speed), or cut every connection and
 * refuse new ones until healed. Every wait is on an event: a proxy's, or a process's output or exit.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from './faults.js';
import { exitOf, type Proc, runPortunus, tempDir } from './harness.js';

const SIZE = 64 * 1024 * 1024;
const NAME = 'data.bin';
/** A hang detector only: the transfers take seconds, and the reconnects within the stall timeout. */
const RUN_MS = 150_000;
let content: Buffer;
let digest: string;
let tmp: { path: string; cleanup: () => Promise<void> };
let runs = 0;

beforeAll(async () => {
  content = randomBytes(SIZE);
  digest = createHash('sha256').update(content).digest('hex');
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp?.cleanup();
});

/** A relay process on `port` (0: a free one); it can be killed and started again on the same port. */
class RestartableRelay {
  private proc: Proc | undefined;
  port = 0;

  async start(): Promise<void> {
    this.proc = runPortunus(['relay', '--host', '127.0.0.1', '--port', String(this.port), '--json'], {
      stdin: 'pipe',
    });
    const ev = await this.proc.waitEvent('listening');
    this.port = Number(new URL(String(ev.url)).port);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  async kill(): Promise<void> {
    if (this.proc === undefined) return;
    if (this.proc.child.exitCode === null) this.proc.child.kill('SIGKILL');
    await this.proc.exited;
    this.proc = undefined;
  }
}

interface Run {
  sender: Proc;
  receiver: Proc;
  dst: string;
}

/** send and receive of 64 MiB over the relay path, each through the relay address it is given. */
async function transfer(urls: { send: string; receive: string }, extra: string[] = []): Promise<Run> {
  const dir = join(tmp.path, `run${runs++}`);
  const src = join(dir, 'src');
  const dst = join(dir, 'dst');
  await mkdir(src, { recursive: true });
  await mkdir(dst, { recursive: true });
  await writeFile(join(src, NAME), content);
  const common = ['--json', '--transport', 'relay', ...extra];
  const sender = runPortunus(['send', ...common, '--relay', urls.send, NAME], { cwd: src });
  const code = String((await sender.waitEvent('code')).code);
  const receiver = runPortunus(['receive', ...common, '--relay', urls.receive, '--yes', code], { cwd: dst });
  return { sender, receiver, dst };
}

/** Waits until `proc` printed an event that satisfies `test` (rejects when it exits first, or after `ms`). */
function untilEvent(proc: Proc, what: string, test: (e: Record<string, unknown>) => boolean, ms = RUN_MS) {
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const check = () => {
      const found = proc.events().find(test);
      if (found !== undefined) return finish(() => resolve(found));
      if (proc.child.exitCode !== null) finish(() => reject(new Error(`exited before ${what}: ${proc.stderr()}`)));
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`no ${what}: ${proc.stderr()}`))), ms);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      proc.child.stdout!.off('data', check);
      proc.child.off('exit', check);
      settle();
    };
    proc.child.stdout!.on('data', check);
    proc.child.on('exit', check);
    check();
  });
}

/** Both exit 0, the file arrived whole, and each side reported the reconnect. */
async function expectCompleted(run: Run): Promise<void> {
  const [sc, rc] = await Promise.all([exitOf(run.sender, RUN_MS), exitOf(run.receiver, RUN_MS)]);
  expect({ sc, rc, stderr: sc === 0 && rc === 0 ? '' : run.sender.stderr() + run.receiver.stderr() }).toEqual({
    sc: 0,
    rc: 0,
    stderr: '',
  });
  const received = await readFile(join(run.dst, NAME));
  expect(createHash('sha256').update(received).digest('hex')).toBe(digest);
  for (const proc of [run.sender, run.receiver]) {
    const events = proc.events();
    expect(events.find((e) => e.event === 'reconnecting')).toMatchObject({ attempt: 1, reason: expect.any(String) });
    expect(events.some((e) => e.event === 'reconnected')).toBe(true);
    expect(events.find((e) => e.event === 'done')).toMatchObject({ bytes: SIZE, sha256: digest });
  }
  // No new code: the sender showed one, once.
  expect(run.sender.events().filter((e) => e.event === 'code')).toHaveLength(1);
}

describe('a lost relay connection while both processes live', () => {
  it('relay killed at about 50% and started again on the same port: the transfer completes', async () => {
    const relay = new RestartableRelay();
    await relay.start();
    // The sender reaches the relay through a proxy that freezes its connection at half the file: the data stops
    // there, whatever the machine's speed, and the relay is killed then.
    const proxy = await TcpProxy.start(relay.port, { freezeAfter: SIZE / 2 });
    try {
      const run = await transfer({ send: `ws://127.0.0.1:${proxy.port}`, receive: relay.url });
      await proxy.frozen;
      await relay.kill();
      await Promise.all(
        [run.sender, run.receiver].map((p) => untilEvent(p, 'reconnecting', (e) => e.event === 'reconnecting')),
      );
      await relay.start();
      await expectCompleted(run);
    } finally {
      await relay.kill();
      await proxy.close();
    }
  }, 200_000);

  it('a network outage (every connection cut, new ones refused for a while): the transfer completes', async () => {
    const relay = new RestartableRelay();
    await relay.start();
    const proxy = await TcpProxy.start(relay.port, { freezeAfter: SIZE / 2 });
    try {
      const through = `ws://127.0.0.1:${proxy.port}`;
      const run = await transfer({ send: through, receive: through });
      await proxy.frozen;
      proxy.sever();
      // The outage lasts until both sides have seen an attempt of theirs refused.
      const refused = (e: Record<string, unknown>) => e.event === 'reconnecting' && Number(e.attempt) >= 2;
      await Promise.all([run.sender, run.receiver].map((p) => untilEvent(p, 'a second attempt', refused)));
      proxy.heal();
      await expectCompleted(run);
    } finally {
      await relay.kill();
      await proxy.close();
    }
  }, 200_000);

  it('a relay that does not come back: both sides fail within the stall timeout, nothing moved into place', async () => {
    const relay = new RestartableRelay();
    await relay.start();
    const proxy = await TcpProxy.start(relay.port, { freezeAfter: SIZE / 2 });
    try {
      const run = await transfer({ send: `ws://127.0.0.1:${proxy.port}`, receive: relay.url }, [
        '--stall-timeout',
        '3',
      ]);
      await proxy.frozen;
      await relay.kill();
      const [sc, rc] = await Promise.all([exitOf(run.sender, RUN_MS), exitOf(run.receiver, RUN_MS)]);
      for (const [proc, exit] of [
        [run.sender, sc],
        [run.receiver, rc],
      ] as const) {
        const error = proc.events().find((e) => e.event === 'error');
        expect(['RELAY_UNREACHABLE', 'INTERRUPTED'], proc.stderr()).toContain(error?.error);
        expect(exit).toBe(error?.error === 'RELAY_UNREACHABLE' ? 6 : 7);
        expect(proc.events().some((e) => e.event === 'reconnecting')).toBe(true);
        expect(proc.events().some((e) => e.event === 'reconnected')).toBe(false);
      }
      expect((await readdir(run.dst)).filter((n) => n === NAME)).toEqual([]);
    } finally {
      await relay.kill();
      await proxy.close();
    }
  }, 200_000);

  it('a connection with the reconnect id but not the key cannot take over: the real transfer completes', async () => {
    const relay = new RestartableRelay();
    await relay.start();
    // The sender's proxy freezes at half and is then cut, so the sender stays away until the test lets it back;
    // the receiver's proxy records what the receiver says, as the relay (or a network observer) would see it.
    const senderProxy = await TcpProxy.start(relay.port, { freezeAfter: SIZE / 2 });
    const receiverProxy = await TcpProxy.start(relay.port, { record: true });
    try {
      const run = await transfer({
        send: `ws://127.0.0.1:${senderProxy.port}`,
        receive: `ws://127.0.0.1:${receiverProxy.port}`,
      });
      await senderProxy.frozen;
      senderProxy.sever();
      await relay.kill();
      await relay.start();
      // The receiver comes back and waits under its id; a stranger who saw the id presents it and is paired instead.
      const [, id] = await receiverProxy
        .sentMatch(/"type":"reconnect","id":"([\w-]{43})"/, RUN_MS)
        .catch((err: unknown) => {
          // It failed once in CI with nothing to tell why: what the two processes said is the first clue.
          const said = (p: Proc) => `exit ${p.child.exitCode}; stdout=${p.stdout()} stderr=${p.stderr()}`;
          throw new Error(`${String(err)}\nreceiver: ${said(run.receiver)}\nsender: ${said(run.sender)}`);
        });
      const stranger = await strangerWith(relay.url, id!);
      expect(stranger.failed).toBe(true);
      await untilEvent(
        run.receiver,
        'the stranger refused',
        (e) => e.event === 'reconnecting' && e.reason === 'PROTOCOL',
      );
      senderProxy.heal();
      await expectCompleted(run);
    } finally {
      await relay.kill();
      await senderProxy.close();
      await receiverProxy.close();
    }
  }, 200_000);
});

/**
 * A client that knows the id but not the key: it presents the id, answers the real peer's rejoin with a nonce of
 * its own and a MAC it can only guess. `failed`: the peer closed on it (the relay's peer-left) without going on.
 */
async function strangerWith(url: string, id: string): Promise<{ failed: boolean }> {
  const ws = new WebSocket(`${url}/v1`, { perMessageDeflate: false });
  const messages: Record<string, unknown>[] = [];
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  const next = (type: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const i = messages.findIndex((m) => m.type === type);
        if (i >= 0) return (ws.off('message', check), resolve(messages.splice(i, 1)[0]!));
      };
      ws.on('message', check);
      void closed.then(() => reject(new Error(`closed before ${type}`)));
      check();
    });
  ws.on('message', (data) => messages.push(JSON.parse(data.toString()) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
  ws.send(JSON.stringify({ type: 'hello', protocol: 1, agent: 'stranger/1' }));
  await next('welcome');
  ws.send(JSON.stringify({ type: 'reconnect', id }));
  await next('reconnected');
  await next('msg'); // the real peer's rejoin
  const body = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');
  ws.send(
    JSON.stringify({ type: 'msg', body: body({ type: 'rejoin', nonce: randomBytes(16).toString('base64url') }) }),
  );
  await next('msg'); // its rejoin-confirm: a MAC the stranger cannot check, and cannot make
  const mac = randomBytes(32).toString('base64url');
  ws.send(JSON.stringify({ type: 'msg', body: body({ type: 'rejoin-confirm', next: 0, mac }) }));
  const left = await next('peer-left').then(
    () => true,
    () => false,
  );
  await closed;
  return { failed: left && !messages.some((m) => m.type === 'msg') };
}
