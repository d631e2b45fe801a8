/**
 * Which path carries the data, chosen by measured throughput (PROTOCOL.md §5.6). Pure:
 * `choose(state, event) → { state, switchTo? }`, fed by the sender with paths coming up or dying and with the
 * bytes the receiver acknowledged, each stamped with the time; it never reads a clock.
 *
 * Rules, in full:
 * 1. The first path that comes up carries the data (usually the relay).
 * 2. A path that comes up later is probed once: the data moves to it for `probeMs` from its first acknowledgement
 *    (waited for up to FIRST_ACK_PROBES probe lengths). The path it left keeps its
 *    rate measured over the last `rateWindowMs` before the move. Off the relay (a third party's bandwidth) every
 *    direct path is probed; from a direct path, only while that one measures below `probeBelow` (a probe costs up
 *    to probeMs at the new path's speed, not worth it on a path that is already fast).
 * 3. When the probe ends, the data goes back to the previous path only if that one was at least `ratio` times
 *    faster; otherwise it stays. Either way the probed path is never probed again, so there is at most one switch
 *    back per path and no flapping. Another path that came up meanwhile is probed next, against the winner.
 * 4. When the path carrying the data dies (or the probed one), the data moves at once to the fastest measured
 *    live path, else to the relay, else to any live path. A dead path never returns; one of the same kind that comes
 *    up later (WebRTC dialled again, PROTOCOL.md §6.4) is a new path, probed like any other.
 * 5. Once the last frame is sealed nothing is probed or switched back any more (there is nothing left to measure
 *    on); only a dying path still moves the data.
 */
export type PathKind = 'relay' | 'tcp' | 'webrtc';

export interface ChooserConfig {
  probeMs: number;
  rateWindowMs: number;
  /** How much faster the previous path must have been to take the data back after a probe. */
  ratio: number;
  /** Bytes per ms below which a direct path carrying the data still lets a later path be probed. */
  probeBelow: number;
}

/** probeBelow: 64 MiB/s, beyond what a WebRTC data channel reaches in Node (≤ ~45 MB/s even native, issue 7). */
export const DEFAULT_CHOOSER: ChooserConfig = {
  probeMs: 500,
  rateWindowMs: 1000,
  ratio: 1.5,
  probeBelow: (64 * 1024 * 1024) / 1000,
};

interface Sample {
  at: number;
  bytes: number;
}

interface Probe {
  path: PathKind;
  previous: PathKind;
  /** Bytes per ms of `previous` just before the probe (undefined: not enough samples to say). */
  previousRate: number | undefined;
  /** Set when the probed path starts carrying (after the drain of the previous one); moved up to its first ack. */
  start?: Sample;
  /** When the probed path started carrying. */
  startedAt?: number;
}

/**
 * How long, in probe lengths, a probe waits for the probed path's first ack before it counts the silence as the
 * path's speed: long enough for a data channel still opening on a loaded machine, short enough that a path that died
 * silently costs seconds, not the stall rule's half minute.
 */
const FIRST_ACK_PROBES = 4;

export interface ChooserState {
  config: ChooserConfig;
  current: PathKind | undefined;
  alive: readonly PathKind[];
  /** Paths that carried data or were probed: never probed (again). */
  tried: readonly PathKind[];
  probe: Probe | undefined;
  /** Recent acknowledged-bytes samples of the current path, oldest first, within rateWindowMs. */
  samples: readonly Sample[];
  /** Bytes per ms measured per path. */
  rates: Readonly<Partial<Record<PathKind, number>>>;
  /** The last frame is sealed: no more voluntary switches (rule 5). */
  last: boolean;
}

export type ChooserEvent =
  | { type: 'up'; path: PathKind; at: number }
  | { type: 'lost'; path: PathKind; at: number }
  /** The path chosen last started carrying (the previous one drained); `bytes` is the acked total so far. */
  | { type: 'started'; at: number; bytes: number }
  /** Acknowledged frame bytes so far (cumulative), or just the time passing. */
  | { type: 'progress'; at: number; bytes: number }
  /** The last frame was sealed. */
  | { type: 'last'; at: number };

export type SwitchReason = 'first' | 'probe' | 'slower' | 'failover';

export interface ChooserResult {
  state: ChooserState;
  switchTo?: { path: PathKind; reason: SwitchReason };
}

export function initialChooser(config: ChooserConfig = DEFAULT_CHOOSER): ChooserState {
  return { config, current: undefined, alive: [], tried: [], probe: undefined, samples: [], rates: {}, last: false };
}

export function choose(state: ChooserState, event: ChooserEvent): ChooserResult {
  switch (event.type) {
    case 'up':
      return onUp(state, event.path);
    case 'lost':
      return onLost(state, event.path);
    case 'started':
      return { state: startedProbe(record(state, event), event) };
    case 'progress':
      return onProgress(record(state, event), event);
    case 'last':
      return { state: { ...state, last: true, probe: undefined } };
  }
}

function onUp(prior: ChooserState, path: PathKind): ChooserResult {
  if (prior.alive.includes(path)) return { state: prior };
  // A path of a kind that died before is a new connection (WebRTC dialled again): untried, unmeasured.
  const { [path]: _, ...rates } = prior.rates;
  const state = { ...prior, tried: prior.tried.filter((p) => p !== path), rates };
  const alive = [...state.alive, path];
  // With nothing carrying, the first path up takes the data: at the start, or after every live path died.
  if (state.current === undefined)
    return moveTo({ ...state, alive }, path, prior.tried.length === 0 ? 'first' : 'failover');
  return nextProbe({ ...state, alive });
}

function onLost(state: ChooserState, path: PathKind): ChooserResult {
  const alive = state.alive.filter((p) => p !== path);
  const tried = state.tried.includes(path) ? state.tried : [...state.tried, path];
  let next: ChooserState = { ...state, alive, tried };
  if (state.probe?.path === path || state.probe?.previous === path) next = { ...next, probe: undefined };
  if (state.current !== path) return { state: next };
  const target = fallback(next);
  if (target === undefined) return { state: { ...next, current: undefined, samples: [] } };
  return { state: { ...next, current: target, samples: [] }, switchTo: { path: target, reason: 'failover' } };
}

/** Fastest measured live path, else the relay, else the first live one. */
function fallback(state: ChooserState): PathKind | undefined {
  const measured = state.alive
    .filter((p) => state.rates[p] !== undefined)
    .sort((a, b) => state.rates[b]! - state.rates[a]!);
  return measured[0] ?? (state.alive.includes('relay') ? 'relay' : state.alive[0]);
}

function onProgress(state: ChooserState, at: Sample): ChooserResult {
  const probe = state.probe;
  if (probe === undefined) return nextProbe(state);
  if (probe.start === undefined) return { state };
  // The probe's clock starts with the probed path's first acknowledgement: its set-up (a data channel's first round
  // trips, a busy peer) is not its speed. The wait is bounded: a path still silent after FIRST_ACK_PROBES probe
  // lengths is measured as it is (0), and the data goes back.
  const waited = at.at - (probe.startedAt ?? probe.start.at);
  if (at.bytes === probe.start.bytes && waited < FIRST_ACK_PROBES * state.config.probeMs) {
    return { state: { ...state, probe: { ...probe, start: { at: at.at, bytes: at.bytes } } } };
  }
  if (at.at - probe.start.at < state.config.probeMs) return { state };
  const rate = (at.bytes - probe.start.bytes) / Math.max(at.at - probe.start.at, 1);
  const rates = { ...state.rates, [probe.path]: rate };
  const settled: ChooserState = { ...state, rates, probe: undefined };
  const back =
    probe.previousRate !== undefined &&
    settled.alive.includes(probe.previous) &&
    probe.previousRate >= state.config.ratio * rate;
  if (back) return moveTo(settled, probe.previous, 'slower');
  return nextProbe(settled);
}

/** Probes the first live path not yet tried, if no probe is running. */
function nextProbe(state: ChooserState): ChooserResult {
  if (state.probe !== undefined || state.current === undefined || state.last) return { state };
  const candidate = state.alive.find((p) => !state.tried.includes(p));
  if (candidate === undefined) return { state };
  const previous = state.current;
  const previousRate = rateOf(state.samples);
  if (previous !== 'relay' && (previousRate === undefined || previousRate >= state.config.probeBelow)) return { state };
  const rates = previousRate === undefined ? state.rates : { ...state.rates, [previous]: previousRate };
  const probing: ChooserState = { ...state, rates, probe: { path: candidate, previous, previousRate } };
  return moveTo(probing, candidate, 'probe');
}

function moveTo(state: ChooserState, path: PathKind, reason: SwitchReason): ChooserResult {
  const tried = state.tried.includes(path) ? state.tried : [...state.tried, path];
  return { state: { ...state, current: path, tried, samples: [] }, switchTo: { path, reason } };
}

function startedProbe(state: ChooserState, at: Sample): ChooserState {
  if (state.probe === undefined || state.probe.path !== state.current || state.probe.start !== undefined) return state;
  return { ...state, probe: { ...state.probe, start: { at: at.at, bytes: at.bytes }, startedAt: at.at } };
}

/**
 * Keeps the samples of the last rateWindowMs (plus the one just before, so the window is always covered). A sample
 * within SAMPLE_SPACING of the previous one replaces it, so a window holds a few dozen samples however many acks come.
 */
function record(state: ChooserState, sample: Sample): ChooserState {
  const beforeLast = state.samples[state.samples.length - 2];
  const spacing = state.config.rateWindowMs / SAMPLES_PER_WINDOW;
  const kept =
    beforeLast !== undefined && sample.at - beforeLast.at < spacing ? state.samples.slice(0, -1) : state.samples;
  const samples = [...kept, { at: sample.at, bytes: sample.bytes }];
  const horizon = sample.at - state.config.rateWindowMs;
  let drop = 0;
  while (drop + 1 < samples.length && samples[drop + 1]!.at <= horizon) drop += 1;
  return { ...state, samples: drop === 0 ? samples : samples.slice(drop) };
}

const SAMPLES_PER_WINDOW = 32;

/** Bytes per ms over the samples, or undefined without two samples apart in time. */
function rateOf(samples: readonly Sample[]): number | undefined {
  if (samples.length < 2) return undefined;
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const span = last.at - first.at;
  return span <= 0 ? undefined : (last.bytes - first.bytes) / span;
}
