/**
 * The one place werift is loaded, and only when a direct connection is tried (its import costs ~450 ms).
 *
 * `import('werift')` resolves (package.json "exports", condition "import") to the ESM bundle lib/index.mjs: the very
 * file patches/werift+0.24.4.patch changes at install (patches/README.md). werift's CommonJS build (lib/<pkg>/src/*.js)
 * is left as published, so nothing here may `require` werift. cli/test/transport/werift-patches.test.ts checks each
 * patched behaviour through this loader.
 */
import type * as WeriftModule from 'werift';
import { importModule } from '../esm-import.js';

export type Werift = typeof WeriftModule;

export function loadWerift(): Promise<Werift> {
  return importModule('werift') as Promise<Werift>;
}
