/**
 * The data plane's options (@portunus/client data-plane.ts) as the page fills them for one transfer: the page's
 * crypto, the direct paths the browser can open, and the screen's progress (the CLI's equivalent is
 * cli/src/transfer/data-plane-options.ts).
 */
import type { ControlMux, DataContext, DataPlaneOptions, Paired, RelayClient } from '@portunus/client';
import type { PageEnv, ProgressView } from './page-env.js';

export interface PageDataParts {
  data: DataContext;
  relay: RelayClient;
  control: ControlMux;
  paired: Paired;
  total: number | undefined;
  view: ProgressView;
}

export function pageDataPlane(env: PageEnv, parts: PageDataParts): DataPlaneOptions {
  return {
    paths: {
      directTimeoutMs: env.settings.directTimeoutMs,
      relay: parts.relay,
      connectors: env.connectors(parts.paired),
    },
    data: parts.data,
    aead: env.dataAead,
    sha256: env.sha256,
    events: {
      progress: (bytes) => parts.view.progress(bytes, parts.total),
      moved: (move) => parts.view.path(move.to),
      debug: (message) => env.debug(message),
    },
    now: env.now,
    total: parts.total,
    stallMs: env.settings.stallMs,
    control: parts.control,
  };
}
