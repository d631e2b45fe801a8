/**
 * CPU seconds of a process and all its descendants, from /proc: a browser is a tree (browser, renderer, network
 * service, GPU and utility processes), and what a page costs is spread over it. Live processes only: read the
 * figure before closing what is measured.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

interface Stat {
  ppid: number;
  ticks: number;
}

/** Direct children of `parent` whose command line mentions `program` (a browser playwright started, say). */
export function childrenRunning(parent: number, program: string): number[] {
  return pids().filter((pid) => readStat(pid)?.ppid === parent && readCmdline(pid).includes(program));
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function readStat(pid: number): Stat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of the `roots` and every live descendant. */
export function treeCpuSeconds(roots: readonly number[]): number {
  const stats = new Map<number, Stat>();
  for (const pid of pids()) {
    const stat = readStat(pid);
    if (stat !== undefined) stats.set(pid, stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of stats) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  let ticks = 0;
  const todo = [...roots];
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    ticks += stats.get(pid)?.ticks ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return ticks / TICKS_PER_SECOND;
}
