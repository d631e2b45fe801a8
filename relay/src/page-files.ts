/**
 * The web page the relay serves (PROTOCOL.md §2.12): a fixed list of files read once, at start, from the built page
 * directory. Nothing from a request ever reaches the file system: a URL path is only a key into this list, so there
 * is no traversal to guard against and no directory to list. Each file is held with its gzip form and its ETag (a
 * few hundred KiB in all: the page is one bundle).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createError } from '@portunus/protocol';

/**
 * URL path → file name and type. `/` is the page (required); the rest are what it loads, each served when the build
 * has it. Nothing else is ever served.
 */
export const PAGE_ROUTES: Readonly<Record<string, { file: string; type: string }>> = Object.freeze({
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  // The service worker that streams downloads to disk: served from the root so that its scope is the whole page.
  '/sw.js': { file: 'sw.js', type: 'text/javascript; charset=utf-8' },
  // Optional: the icon and the manifest a phone uses to put the page on its home screen.
  '/icon.svg': { file: 'icon.svg', type: 'image/svg+xml' },
  '/manifest.webmanifest': { file: 'manifest.webmanifest', type: 'application/manifest+json' },
});

/** Largest file the relay loads: the page's bundle is far smaller; anything bigger is not the page. */
export const MAX_PAGE_FILE_BYTES = 16 * 1024 * 1024;

export interface PageFile {
  readonly type: string;
  readonly body: Buffer;
  /** The body gzipped, when that is smaller. */
  readonly gzip: Buffer | undefined;
  /** Strong ETag: a hash of the body. */
  readonly etag: string;
}

/** The loaded page: URL path → file. Only paths of PAGE_ROUTES whose file exists. */
export type PageFiles = ReadonlyMap<string, PageFile>;

/** Where a built relay finds its page: `page/` beside its bundle (scripts/build.mjs copies it there). */
export function bundledPageDir(): string {
  return fileURLToPath(new URL('./page/', import.meta.url));
}

/**
 * Loads the page from `dir`, or from the bundled directory when `dir` is undefined. Without an index.html the relay
 * has no page: that is an error when the directory was given (`--page-dir`), and the normal case when running from
 * sources (no build beside them).
 */
export function loadPage(dir: string | undefined): PageFiles | undefined {
  const from = dir ?? bundledPageDir();
  if (!existsSync(join(from, PAGE_ROUTES['/']!.file))) {
    if (dir === undefined) return undefined;
    throw createError('USAGE', `--page-dir: no index.html in ${dir}`, {
      hint: 'Point --page-dir at a built page (npm run build writes packages/web/dist), or pass --no-page.',
    });
  }
  const files = new Map<string, PageFile>();
  for (const [path, { file, type }] of Object.entries(PAGE_ROUTES)) {
    const body = readPageFile(join(from, file));
    if (body !== undefined) files.set(path, pageFile(type, body));
  }
  return files;
}

function readPageFile(path: string): Buffer | undefined {
  if (!existsSync(path)) return undefined;
  // Checked before reading: a wrong directory must not make the relay load whatever large file it holds.
  if (!statSync(path).isFile() || statSync(path).size > MAX_PAGE_FILE_BYTES) {
    throw createError('USAGE', `page file ${path} is not a file of at most ${MAX_PAGE_FILE_BYTES} bytes`, {
      hint: 'Point --page-dir at the built page (packages/web/dist).',
    });
  }
  return readFileSync(path);
}

function pageFile(type: string, body: Buffer): PageFile {
  const gzip = gzipSync(body, { level: 9 });
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { type, body, gzip: gzip.length < body.length ? gzip : undefined, etag };
}
