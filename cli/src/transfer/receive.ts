/**
 * `portunus receive`: claim the nameplate, run the session, show the offer and ask, then stream the verified data
 * into a temporary file that is moved into place only after the final frame and the SHA-256 check pass.
 */
import { basename } from 'node:path';
import {
  type Code,
  type Decision,
  type Digest,
  type Offer,
  offerSize,
  type PathKind,
  PortunusError,
} from '@portunus/protocol';
import { Manifest, type FileDigest } from '../files/manifest.js';
import { nodeAead } from '@portunus/protocol/node';
import { parseFileOffer } from '../files/offer.js';
import {
  checkOutput,
  checkTarget,
  openResumableSink,
  type ResumableSink,
  openSink,
  type Sink,
  type Target,
} from '../files/sink.js';
import { describeSwept, sweepStaleTemps } from '../files/stale-temps.js';
import { openRendezvous } from '../lan/rendezvous.js';
import {
  abilitiesFor,
  ControlMux,
  driveSession,
  noCommonPath,
  type Paired,
  receiveData,
  type ReceivingStream,
  scopedSignal,
} from '@portunus/client';
import { describeOffer, offerEvent } from '../ui/describe.js';
import { sanitizeForTerminal } from '../files/sanitize.js';
import { confirm } from '../ui/prompt.js';
import { verifyWithUser } from '../ui/verify.js';
import { showWaiting } from '../ui/waiting.js';
import type { TransferContext } from './context.js';
import { dataPlaneOptions } from './data-plane-options.js';
import { relayLine } from './relay-line.js';
import { finishProgress, sayResumed } from '../ui/data-events.js';
import { formatBytes } from '../ui/format.js';
import { isInterruption, partialHeld, type Resumed, resumePartial, sayDiscarded } from './resume.js';
import { tuneGcForTransfer } from '../gc-flags.js';

export interface ReceiveOptions {
  code: Code;
  /** File or folder path, an existing folder to receive into, or '-' for stdout. */
  output?: string;
  cwd: string;
  overwrite: boolean;
  /** Give what clashes with an existing name a free one (`a (1).txt`). */
  rename: boolean;
  /** Accept without asking. */
  yes: boolean;
  /** Continue what an interrupted receive of the same file left (false: --no-resume, start over). */
  resume: boolean;
  /** Where `-o -` data is written. */
  stdout: NodeJS.WritableStream;
  /** Where a received text message is printed (none in JSON mode: the done event carries it). */
  textOut?: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface ReceiveResult extends Digest {
  offer: Offer;
  /** Bytes that were already here (a resume): counted in `bytes`, not received again. */
  reused: number;
  seconds: number;
  /** Final path on disk (absent for text and stdout). */
  path?: string;
  /** The path that carried the data (none for a text message). */
  transport?: PathKind;
  /** Folders and bundles: each file's SHA-256, as written. */
  files?: readonly FileDigest[];
  /** A bundle: where each top-level entry landed. */
  entries?: { name: string; path: string }[];
}

export async function receive(ctx: TransferContext, opts: ReceiveOptions): Promise<ReceiveResult> {
  const { reporter } = ctx;
  // What the options alone decide fails here, before the relay or the LAN sees anything (the code stays usable).
  const landing = await checkOutput({
    output: opts.output,
    cwd: opts.cwd,
    overwrite: opts.overwrite,
    rename: opts.rename,
  });
  const swept = landing === undefined ? [] : await sweepStaleTemps(landing, (m) => reporter.warn(m));
  for (const leftover of swept) {
    reporter.event({ event: 'swept', ...leftover });
    reporter.say(describeSwept(leftover));
  }
  const connecting = scopedSignal(ctx.signal);
  const rendezvous = await openRendezvous(
    { ...ctx, signal: connecting.signal },
    { role: 'receive', nameplate: opts.code.nameplate },
  );
  // From here on cancelling is the session's job: it tells the peer before the connection closes.
  connecting.release();
  const relay = relayLine(ctx, rendezvous);
  let offer: Offer | undefined;
  let sink: Sink | undefined;
  /** A file, folder or bundle landing at a path: resumable. */
  let resumable: ResumableSink | undefined;
  let resumed: Resumed | undefined;
  let reused = 0;
  let target: Target | undefined;
  let path: string | undefined;
  let ok = false;
  let refusal: PortunusError | undefined;
  let used: PathKind | undefined;
  let paired: Paired | undefined;
  let stream: ReceivingStream | undefined;
  let peerAbilities: string[] = [];
  let started = ctx.now();
  const manifest = new Manifest();
  let verified = '';
  try {
    const { side } = rendezvous;
    const waited = side === 'a' ? showWaiting(reporter, opts.code.nameplate, ctx.relayUrl) : () => {};
    const control = new ControlMux(relay, (m) => reporter.debug(m));
    const digest = await driveSession(control, {
      relayName: relay.client.relayName,
      config: {
        role: 'receive',
        code: opts.code,
        abilities: abilitiesFor(ctx.paths),
        aead: nodeAead,
        random: ctx.random,
      },
      signal: ctx.signal,
      waitMs: ctx.timeoutMs,
      stallMs: ctx.stallMs,
      hooks: {
        onPaired: (p) => {
          waited();
          paired = p;
          started = ctx.now();
        },
        onUnpaired: () => {
          reporter.event({ event: 'unpaired' });
          reporter.say('The sender left before the key exchange completed; waiting for it to come back…');
        },
        onConfirmed: ({ verifier, peerAbilities: theirs }) => {
          verified = verifier;
          peerAbilities = theirs;
          reporter.event({ event: 'confirmed', verifier });
        },
        onOffer: async (o, signal): Promise<Decision> => {
          // The file layer's stricter check: names must be safe single components before they reach a disk or a screen.
          const checked = parseFileOffer(o);
          if (checked instanceof PortunusError) throw checked;
          // Refused before asking: without a data path both sides allow, no data could ever flow.
          const noPath = o.kind === 'text' ? undefined : noCommonPath(abilitiesFor(ctx.paths), peerAbilities);
          if (noPath !== undefined) throw noPath;
          offer = o;
          const place = o.kind === 'text' ? undefined : await placeOffer(o, opts, reporter);
          const held = place !== undefined && 'held' in place ? place.held : 0;
          reporter.event(offerEvent(o, held));
          if (ctx.verify === true) await verifyWithUser(ctx.prompt, verified, signal);
          if (o.kind === 'text' || place === undefined) return { accept: true };
          reporter.say(`Offered: ${describeOffer(o)}`);
          if ('refusal' in place) {
            refusal = place.refusal;
            return { accept: false, reason: place.reason };
          }
          target = place.target;
          sayRenamed(reporter, target);
          const question =
            held > 0
              ? `${formatBytes(held)} of ${formatBytes(offerSize(o) ?? held)} already here from an interrupted transfer; resume?`
              : 'Receive?';
          if (
            !opts.yes &&
            !(await confirm({ ...ctx.prompt, signal }, question, 'Pass --yes to accept without asking.'))
          ) {
            return { accept: false, reason: 'REJECTED' };
          }
          if (o.kind === 'stream' || target.kind === 'stdout') {
            sink = await openSink(target, o, { stdout: opts.stdout, manifest });
            return { accept: true };
          }
          resumed = await resumePartial(target, o, { resume: opts.resume, random: ctx.random, reporter });
          sink = resumable = await openResumableSink(target, o, resumed, { manifest });
          return resumed === undefined ? { accept: true } : { accept: true, resume: resumed.claim };
        },
        receiveData: async (data, from) => {
          const total = offer === undefined ? undefined : offerSize(offer);
          tuneGcForTransfer(total);
          if (resumed !== undefined && from === 0) {
            sayDiscarded(reporter, resumed.partial, 'mismatch');
            await resumable!.restart();
          }
          reused = from;
          if (from > 0) sayResumed(reporter, from, total);
          const plane = dataPlaneOptions(ctx, { data, relay, control, paired: paired!, verb: 'Receiving', total });
          const prefix = from > 0 && resumed !== undefined ? { bytes: from, hash: resumed.hash } : undefined;
          stream = receiveData(prefix === undefined ? plane : { ...plane, prefix }, sink!);
          const got = await stream.done;
          finishProgress(reporter, got.bytes, total);
          used = got.transport;
          return { bytes: got.bytes, sha256: got.sha256 };
        },
        // The sender reports the end only after its FINAL frame was acknowledged: without the stream here, it lies.
        onPeerSent: () => stream?.peerSent(),
        commit: async () => {
          path = await sink!.commit();
        },
      },
    });
    if (offer?.kind === 'text' && opts.textOut) printText(opts.textOut, offer.text);
    ok = true;
    return {
      ...digest,
      offer: offer!,
      reused,
      seconds: (ctx.now() - started) / 1000,
      ...(path === undefined ? {} : { path }),
      ...(used === undefined ? {} : { transport: used }),
      ...(offer?.kind === 'folder' || offer?.kind === 'bundle' ? { files: manifest.files() } : {}),
      ...(target?.kind === 'entries' ? { entries: target.entries.map(({ name, path }) => ({ name, path })) } : {}),
    };
  } catch (err) {
    // A local refusal (the file exists) is reported as itself, not as the generic "declined".
    const failure = refusal ?? err;
    // An interrupted receive keeps what it has for the next receive of the same offer (PROTOCOL.md §4.12).
    if (resumable !== undefined && isInterruption(failure instanceof PortunusError ? failure.code : undefined)) {
      reporter.stopProgress();
      const kept = await resumable.keep();
      if (kept !== undefined) {
        reporter.event({ event: 'kept', ...kept });
        reporter.say(
          `Kept the ${formatBytes(kept.bytes)} received so far: the same receive, run again, continues from there.`,
        );
      }
    }
    throw failure;
  } finally {
    reporter.stopProgress();
    if (!ok) await sink?.abort();
    relay.reportDone(ok);
    await relay.close();
    await rendezvous.close();
  }
}

/**
 * Where a data offer would land, and how much of it an interrupted receive left there (unless --no-resume); or why
 * it is refused there (before any data). Any other failure is told with the offer event first.
 */
async function placeOffer(
  o: Exclude<Offer, { kind: 'text' }>,
  opts: ReceiveOptions,
  reporter: TransferContext['reporter'],
): Promise<{ target: Target; held: number } | { refusal: PortunusError; reason: 'FILE_EXISTS' | 'DISK_FULL' }> {
  try {
    const target = await checkTarget(o, opts);
    const resumable = opts.resume && o.kind !== 'stream' && target.kind !== 'stdout';
    return { target, held: resumable ? await partialHeld(target, o) : 0 };
  } catch (err) {
    if (err instanceof PortunusError && (err.code === 'FILE_EXISTS' || err.code === 'DISK_FULL')) {
      return { refusal: err, reason: err.code };
    }
    reporter.event(offerEvent(o));
    throw err;
  }
}

/** Says which offered names land under another one (--rename). */
function sayRenamed(reporter: TransferContext['reporter'], target: Target): void {
  const moved =
    target.kind === 'entries'
      ? target.entries.filter((e) => basename(e.path) !== e.name).map((e) => [e.name, basename(e.path)])
      : [];
  for (const [from, to] of moved) {
    reporter.say(`'${sanitizeForTerminal(from!)}' exists here: saving it as '${sanitizeForTerminal(to!)}'.`);
  }
}

/** Prints a received message; on a terminal, escape sequences are removed line by line first. */
export function printText(out: NodeJS.WritableStream & { isTTY?: boolean }, text: string): void {
  const shown = out.isTTY
    ? text
        .split('\n')
        .map((line) => sanitizeForTerminal(line))
        .join('\n')
    : text;
  out.write(shown.endsWith('\n') ? shown : shown + '\n');
}
