/**
 * The page's service worker: it answers one kind of request, a download the page registered (download-saver.ts),
 * with a response streamed from the page chunk by chunk as the browser's download manager reads it. Every other
 * request goes to the network untouched: the worker caches nothing and serves nothing else.
 */
import { contentDisposition } from './save/content-disposition.js';
import {
  DOWNLOAD_PATH,
  parseDownloadRequest,
  parsePageMessage,
  type DownloadRequest,
  type WorkerMessage,
} from './save/download-messages.js';

/** The parts of the ServiceWorkerGlobalScope this worker uses (the page's DOM library does not declare it). */
interface WorkerScope {
  registration: { scope: string };
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'message', listener: (event: ExtendableMessage) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
}
interface ExtendableEvent {
  waitUntil(promise: Promise<unknown>): void;
}
interface ExtendableMessage extends ExtendableEvent {
  data: unknown;
  ports: readonly MessagePort[];
}
interface FetchEvent {
  request: Request;
  respondWith(response: Response | Promise<Response>): void;
}

/** Downloads registered but not yet opened; a page that registers more is refused. */
const MAX_PENDING = 16;

const worker = self as unknown as WorkerScope;
const pending = new Map<string, { request: DownloadRequest; port: MessagePort }>();

function post(port: MessagePort, message: WorkerMessage): void {
  port.postMessage(message);
}

worker.addEventListener('install', (event) => event.waitUntil(worker.skipWaiting()));
worker.addEventListener('activate', (event) => event.waitUntil(worker.clients.claim()));

worker.addEventListener('message', (event) => {
  const request = parseDownloadRequest(event.data);
  const port = event.ports[0];
  if (request === undefined || port === undefined) return;
  if (pending.size >= MAX_PENDING || pending.has(request.id)) {
    post(port, { type: 'refused' });
    return;
  }
  pending.set(request.id, { request, port });
  // An abort before the browser opened the download forgets it.
  port.onmessage = (message) => {
    if (parsePageMessage(message.data)?.type === 'abort') {
      pending.delete(request.id);
      port.close();
    }
  };
  post(port, { type: 'ready' });
});

worker.addEventListener('fetch', (event) => {
  const base = new URL(DOWNLOAD_PATH, worker.registration.scope);
  const url = new URL(event.request.url);
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) return;
  const id = url.pathname.slice(base.pathname.length);
  const download = pending.get(id);
  if (download === undefined) {
    event.respondWith(new Response('This download has ended, or never began.', { status: 404 }));
    return;
  }
  pending.delete(id);
  const headers = new Headers({
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': contentDisposition(download.request.name),
    'X-Content-Type-Options': 'nosniff',
  });
  if (download.request.size !== null) headers.set('Content-Length', String(download.request.size));
  event.respondWith(new Response(streamFrom(download.port), { headers }));
});

/** A stream that asks the page for each chunk when the browser reads, and holds none ahead (high-water mark 0). */
function streamFrom(port: MessagePort): ReadableStream<Uint8Array> {
  let answer: (() => void) | undefined;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        port.onmessage = (event) => {
          const message = parsePageMessage(event.data);
          if (message === undefined) return;
          const waiting = answer;
          answer = undefined;
          if (message.type === 'chunk' && waiting !== undefined) controller.enqueue(message.bytes);
          else if (message.type === 'end' && waiting !== undefined) {
            controller.close();
            port.close();
          } else {
            // An abort, or a page that sent without being asked: the download fails, and the browser deletes it.
            controller.error(new Error('the transfer stopped'));
            port.close();
          }
          waiting?.();
        };
      },
      pull() {
        post(port, { type: 'pull' });
        return new Promise<void>((resolve) => (answer = resolve));
      },
      cancel() {
        post(port, { type: 'cancel' });
        port.close();
      },
    },
    { highWaterMark: 0 },
  );
}
