// The V8 code cache of the CLI bundle (cli/dist/main.cjs.<build>.cache; cli/bin/portunus reads it), made by the
// build (scripts/build.mjs) from real runs: a 1 KiB send and receive through a relay on 127.0.0.1, then the help.
// Each run starts from the cache the one before wrote and adds the functions it compiled
// (scripts/code-cache-writer.cjs): the sender's, the receiver's, the help's. Functions no run reached (LAN mode,
// folders, the relay's own) are compiled when first called, as without a cache.
//
// A run that fails leaves the CLI without a cache (correct, ~20 ms slower to start) and says so: the build goes on.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import vm from 'node:vm';

/** Each run's limit: the build waits on none for longer. */
const RUN_TIMEOUT_MS = 60_000;

/** The build id a bundle's first line names. */
function buildIdOf(bundle) {
  const id = /^\/\/ build ([0-9a-f]+)\n/.exec(readFileSync(bundle, 'utf8'))?.[1];
  if (id === undefined) throw new Error(`${bundle} has no build id line`);
  return id;
}

/**
 * A rebuild of unchanged sources makes the same bundle, with the same id: its cache is copied from the CLI in place
 * (`from`, cli/dist) into the new one (`to`) before the new one replaces it, if this Node still takes it. No start
 * then goes without a cache (the test suite builds while other tests start the CLI). Returns whether it did.
 */
export function keepCodeCache(from, to) {
  const id = buildIdOf(join(to, 'main.cjs'));
  const cache = join(from, `main.cjs.${id}.cache`);
  if (!existsSync(cache) || !existsSync(join(from, 'main.cjs')) || buildIdOf(join(from, 'main.cjs')) !== id)
    return false;
  // Compiled as cli/bin/portunus compiles it: V8 refuses a cache of another V8 or other flags.
  const source = readFileSync(join(to, 'main.cjs'), 'utf8');
  const script = new vm.Script(Module.wrap(source), { cachedData: readFileSync(cache) });
  if (script.cachedDataRejected !== false) return false;
  copyFileSync(cache, join(to, `main.cjs.${id}.cache`));
  return true;
}

export async function makeCodeCache(root) {
  const bin = join(root, 'cli/bin/portunus');
  const bundle = join(root, 'cli/dist/main.cjs');
  const out = `${bundle}.${buildIdOf(bundle)}.cache`;
  const work = mkdtempSync(join(tmpdir(), 'portunus-code-cache-'));
  const children = new Set();
  /** Runs the CLI (`write`: the run writes the cache at exit); resolves once it exits 0 (a relay: once stopped). */
  const run = (args, { write = false, env = {}, onEvent } = {}) => {
    const child = spawn(
      process.execPath,
      [...(write ? ['--require', join(root, 'scripts/code-cache-writer.cjs')] : []), bin, ...args],
      {
        env: { ...process.env, ...env, ...(write ? { PORTUNUS_CODE_CACHE_OUT: out } : {}) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    createInterface({ input: child.stdout }).on('line', (line) => {
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        return; // not an event line
      }
      if (typeof event === 'object' && event !== null) onEvent?.(event);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    return new Promise((resolve, reject) => {
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        children.delete(child);
        if (code === 0 || (args[0] === 'relay' && signal === 'SIGTERM')) resolve();
        else reject(new Error(`portunus ${args[0]} ended with ${signal ?? code}: ${stderr.trim().split('\n').at(-1)}`));
      });
    });
  };
  let relay;
  try {
    let listening;
    const url = new Promise((resolve) => (listening = resolve));
    relay = run(['relay', '--host', '127.0.0.1', '--port', '0', '--json'], {
      onEvent: (e) => e.event === 'listening' && listening(e.url),
    });
    const relayUrl = await Promise.race([url, relay]);
    const payload = join(work, 'payload');
    writeFileSync(payload, Buffer.alloc(1024, 7));
    // A fixed secret is fine here: nothing but this build's own two processes meets on that relay.
    const pair = async (round, writer) => {
      const env = { PORTUNUS_CODE: `${100_000 + round}-BLD-CC0` };
      const common = ['--json', '--relay', relayUrl];
      await Promise.all([
        run(['send', ...common, '--no-qr', payload], { env, write: writer === 'send' }),
        run(['receive', ...common, '--yes', '-o', join(work, `got-${round}`)], { env, write: writer === 'receive' }),
      ]);
    };
    await pair(1, 'send');
    await pair(2, 'receive');
    await run(['--help'], { write: true });
  } catch (err) {
    rmSync(out, { force: true });
    console.warn(`code cache: not made (${err.message}); the CLI compiles its bundle on every start instead`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await relay?.catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}
