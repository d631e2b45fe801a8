/**
 * deploy/nginx/relay.conf as the tests run it: the file itself, but for its listen address (the test's port on
 * 127.0.0.1, and no IPv6 listener: the machine may have no ::1), its upstream's port and, where given, its two
 * certificate paths. Each must occur exactly once, so the file changes under the tests only where they say.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../cli/test/e2e/harness.js';

export interface SiteChanges {
  listenPort: number;
  relayPort: number;
  cert?: string;
  key?: string;
}

function replaceOnce(text: string, from: string, to: string): string {
  const count = text.split(from).length - 1;
  if (count !== 1) throw new Error(`deploy/nginx/relay.conf should contain '${from}' once, not ${count} times`);
  return text.replace(from, to);
}

export function nginxSite(changes: SiteChanges): string {
  let site = readFileSync(join(ROOT, 'deploy/nginx/relay.conf'), 'utf8');
  site = replaceOnce(site, 'server 127.0.0.1:4747;', `server 127.0.0.1:${changes.relayPort};`);
  site = replaceOnce(site, 'listen 443 ssl;', `listen 127.0.0.1:${changes.listenPort} ssl;`);
  site = replaceOnce(site, 'listen [::]:443 ssl;', '');
  if (changes.cert !== undefined) site = replaceOnce(site, '/etc/nginx/certs/relay.pem', changes.cert);
  if (changes.key !== undefined) site = replaceOnce(site, '/etc/nginx/certs/relay.key', changes.key);
  return site;
}
