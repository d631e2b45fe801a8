/**
 * The page's side of a download streamed through the service worker (sw.ts), for secure contexts without the File
 * System Access API (Firefox, Safari, most phones): the page registers the download on the worker with a
 * MessageChannel port, opens its URL in a hidden iframe, and the browser's download manager reads the response the
 * worker builds from the port. The page sends a chunk only when the worker asks for one (download-messages.ts), so
 * the download's own pace is the backpressure and the page holds one chunk. abort() errors the response, which the
 * browser reports as a failed download and whose partial file it deletes.
 */
import { createError, type PortunusError } from '@portunus/protocol';
import { Wakeup, type Sink } from '@portunus/client';
import {
  DOWNLOAD_PATH,
  downloadId,
  parseWorkerMessage,
  type DownloadRequest,
  type PageMessage,
} from './download-messages.js';
import type { Saver } from './saver.js';

/**
 * A worker with no event for 30 s may be stopped by the browser, even with a response still streaming (Chromium's
 * idle timeout); a message every 10 s is an event, so the download outlives a sender that pauses.
 */
export const KEEPALIVE_MS = 10_000;

function downloadError(why: string): PortunusError {
  return createError('FILE_ERROR', `cannot stream the download: ${why}`, {
    hint: 'Reload the page and try again, or receive with the portunus command.',
  });
}

/** What the worker said on one download's port: whether it took the download, and the pulls not yet answered. */
class WorkerPort {
  private readonly changed = new Wakeup();
  private answer: 'ready' | 'refused' | undefined;
  private pulls = 0;
  private cancelled = false;

  constructor(readonly port: MessagePort) {
    port.onmessage = (event) => this.portOnMessage(event);
    port.start();
  }

  async ready(): Promise<void> {
    while (this.answer === undefined) await this.changed.next();
    if (this.answer === 'refused') throw downloadError('too many downloads are open at once');
  }

  /** Resolves once the browser asks for the next chunk; rejects once the user cancelled the download. */
  async pull(): Promise<void> {
    while (this.pulls === 0 && !this.cancelled) await this.changed.next();
    if (this.cancelled) throw createError('CANCELLED', 'the download was cancelled in the browser');
    this.pulls -= 1;
  }

  send(message: PageMessage, transfer: Transferable[] = []): void {
    this.port.postMessage(message, transfer);
  }

  private portOnMessage(event: MessageEvent): void {
    const message = parseWorkerMessage(event.data);
    if (message === undefined) return;
    if (message.type === 'ready' || message.type === 'refused') this.answer = message.type;
    else if (message.type === 'pull') this.pulls += 1;
    else this.cancelled = true;
    this.changed.wake();
  }
}

export class DownloadSaver implements Saver {
  readonly kind = 'download';
  /** Frames of finished downloads, removed when the next one starts (removing one mid-download could stop it). */
  private readonly frames: HTMLIFrameElement[] = [];

  constructor(
    private readonly registration: ServiceWorkerRegistration,
    private readonly doc: Document = document,
  ) {}

  /** Registers the worker (served at the root, so its scope is the whole page) and waits until it is active. */
  static async register(url = '/sw.js', container = navigator.serviceWorker): Promise<DownloadSaver> {
    await container.register(url, { scope: '/' });
    return new DownloadSaver(await container.ready);
  }

  async open(name: string, size: number | undefined): Promise<Sink> {
    const worker = this.registration.active;
    if (worker === null) throw downloadError('the service worker is not running');
    const channel = new MessageChannel();
    const port = new WorkerPort(channel.port1);
    const request: DownloadRequest = { type: 'portunus-download', id: downloadId(), name, size: size ?? null };
    worker.postMessage(request, [channel.port2]);
    await port.ready();
    for (const old of this.frames.splice(0)) old.remove();
    const frame = this.doc.createElement('iframe');
    frame.hidden = true;
    frame.src = new URL(DOWNLOAD_PATH + request.id, this.registration.scope).href;
    this.doc.body.append(frame);
    const keepalive = setInterval(() => worker.postMessage({ type: 'keepalive' }), KEEPALIVE_MS);
    let finished = false;
    const finish = (): void => {
      finished = true;
      clearInterval(keepalive);
      port.port.close();
    };
    return {
      write: async (chunk) => {
        await port.pull();
        // A copy whose buffer moves to the worker: the caller may reuse `chunk` once this resolves.
        const bytes = chunk.slice();
        port.send({ type: 'chunk', bytes }, [bytes.buffer]);
      },
      commit: async () => {
        await port.pull();
        port.send({ type: 'end' });
        finish();
        this.frames.push(frame);
        return name;
      },
      abort: async () => {
        if (finished) return;
        port.send({ type: 'abort' });
        finish();
        frame.remove();
      },
    };
  }
}
