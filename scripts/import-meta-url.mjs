// Injected into the CLI's CommonJS bundle (scripts/build.mjs), which has no import.meta: its import.meta.url, the
// bundle's own file URL, as the ES modules it was built from saw theirs (version.ts, page-files.ts, lazy-deps.ts).
import { pathToFileURL } from 'node:url';

// __filename: the CommonJS bundle's own.
export const importMetaUrl = pathToFileURL(__filename).href;
