/**
 * Plain HTTP on the relay's port: `GET /healthz` (JSON status), `GET /metrics` (Prometheus text), the drop API under
 * `/drops` (drop-http.ts) and, when the relay has it, the page's fixed list of files (page-files.ts). Every other
 * request gets 404; WebSocket upgrades are handled by server.ts, not here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isDropsPath, type DropHttp } from './drop-http.js';
import type { Logger } from './logger.js';
import type { PageFiles } from './page-files.js';
import { sendPageFile } from './page-route.js';

export interface Health {
  status: 'ok' | 'draining';
  version: string;
  protocol: number;
  connections: number;
  nameplates: number;
  /** Seconds since the relay started. */
  uptime: number;
  /** One of several instances (`--redis`): whether it reaches the Redis they share (PROTOCOL.md §12). */
  redis?: 'ok' | 'unreachable';
}

export interface HttpRoutes {
  health(): Health;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** The page, unless the relay serves none. */
  page: PageFiles | undefined;
  /** The drop API (it answers DROPS_DISABLED when the relay has no storage). */
  drops: DropHttp;
  logger: Logger;
}

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(head ? undefined : body);
}

export function handleHttpRequest(routes: HttpRoutes, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '').split('?')[0];
  const head = req.method === 'HEAD';
  if (path !== undefined && isDropsPath(path)) {
    routes.drops.handle(req, res, path);
    return;
  }
  if (req.method !== 'GET' && !head) {
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
    return;
  }
  if (path === '/healthz') {
    const health = routes.health();
    send(res, health.status === 'ok' ? 200 : 503, 'application/json', `${JSON.stringify(health)}\n`, head);
    return;
  }
  if (path === '/metrics') {
    routes.metrics().then(
      ({ contentType, body }) => send(res, 200, contentType, body, head),
      (err: unknown) => {
        routes.logger.error('metrics failed', { error: err instanceof Error ? err.message : 'unknown' });
        send(res, 500, 'text/plain; charset=utf-8', 'metrics unavailable\n', head);
      },
    );
    return;
  }
  const file = path === undefined ? undefined : routes.page?.get(path);
  if (file !== undefined) {
    sendPageFile(req, res, file);
    return;
  }
  send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
}
