/**
 * Whether this process was started as `node dist/bench/<name>`. Every bench file is also bundled into run.js (and
 * into the others that import it), where `import.meta.url` is the bundle's own URL: comparing it with argv[1] made
 * `npm run bench` start the main of each file it imports as well as its own.
 */
import { basename } from 'node:path';

export function startedAs(name: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && basename(entry) === name;
}
