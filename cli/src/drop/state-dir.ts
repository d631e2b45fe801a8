/**
 * Where drop states live (drop-state.ts). Its own module so that option handling (send.ts, receive.ts), which
 * runs at start-up, does not load the state files' machinery (fs/promises, node:crypto) for `portunus --help`.
 */
import { isAbsolute, join } from 'node:path';

/** The folder of drop states, or undefined when the environment names no home or state folder. */
export function dropStateDir(env: NodeJS.ProcessEnv): string | undefined {
  const xdg = env.XDG_STATE_HOME;
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) return join(xdg, 'portunus', 'drops');
  const home = env.HOME || env.USERPROFILE;
  if (home !== undefined && home !== '' && isAbsolute(home)) return join(home, '.local', 'state', 'portunus', 'drops');
  return undefined;
}
