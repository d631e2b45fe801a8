/**
 * What the deploy tests read deploy/ with: the relay settings the relay accepts (its PORTUNUS_RELAY_* options and the
 * S3 client's AWS_* variables), and the Kubernetes manifests, every document of every file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { expect } from 'vitest';
import { RELAY_OPTIONS, relayConfigFromEnv, resolveRelayConfig } from '@portunus/relay';
import { ROOT } from '../../cli/test/e2e/harness.js';

export const DEPLOY = join(ROOT, 'deploy');
export const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
export type Json = Record<string, unknown>;

/** PORTUNUS_RELAY_* names the relay reads: every option's (relay-options.ts) and the command's own (command.ts). */
const RELAY_ENV = new Set([
  ...RELAY_OPTIONS.map((o) => o.env),
  ...[...read('relay/src/command.ts').matchAll(/env\.(PORTUNUS_RELAY_[A-Z_]+)/g)].map((m) => m[1]!),
]);

/** The AWS_* variables the drop storage's S3 client reads (drop-s3-storage.ts). */
const S3_ENV = new Set([...read('relay/src/drop-s3-storage.ts').matchAll(/env\.(AWS_[A-Z_0-9]+)/g)].map((m) => m[1]!));

/**
 * Checks a set of PORTUNUS_RELAY_* settings (and the S3 client's AWS_* ones) the way the relay will read them;
 * returns the grace in seconds.
 */
export function checkRelayEnv(env: Record<string, string>, where: string): number {
  for (const name of Object.keys(env)) expect([...RELAY_ENV, ...S3_ENV], `${where}: ${name}`).toContain(name);
  const config = resolveRelayConfig(relayConfigFromEnv(env));
  return config.graceMs / 1000;
}

export interface Manifest {
  file: string;
  object: Json & { apiVersion: string; kind: string; metadata: { name: string } };
}

export function manifests(): Manifest[] {
  const dir = join(DEPLOY, 'k8s');
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => {
        expect(doc.errors, file).toEqual([]);
        return { file, object: doc.toJS() as Manifest['object'] };
      }),
    );
}

/** The one manifest of `kind` named `name`. */
export function manifest(all: Manifest[], kind: string, name = 'portunus-relay'): Json {
  const found = all.filter((m) => m.object.kind === kind && m.object.metadata.name === name);
  expect(found, `${kind} ${name}`).toHaveLength(1);
  return found[0]!.object;
}
