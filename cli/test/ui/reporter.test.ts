/**
 * The Reporter's progress and summary without a terminal, on a fake clock: plain progress lines follow time (not
 * data), and the summary's rate is the progress line's rate (the data phase), with the whole duration apart.
 */
import { describe, expect, it } from 'vitest';
import { Reporter } from '../../src/ui/reporter.js';
import { reportDone } from '../../src/ui/summary.js';
import { captured, fakeClock } from './fake-clock.js';

const MB = 1_000_000;

function humanReporter(isTTY = false) {
  const clock = fakeClock();
  const stderr = captured(isTTY);
  const reporter = new Reporter({
    mode: 'human',
    jsonStream: captured().stream,
    stderr: stderr.stream,
    verbose: false,
    color: false,
    clock,
  });
  return { clock, stderr, reporter };
}

function jsonReporter() {
  const clock = fakeClock();
  const stdout = captured();
  const reporter = new Reporter({
    mode: 'json',
    jsonStream: stdout.stream,
    stderr: captured().stream,
    verbose: false,
    color: false,
    clock,
  });
  const events = () => stdout.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  return { clock, reporter, events };
}

describe('progress on a terminal', () => {
  it('draws a bar (cli-progress, loaded only now) with the percent and the bytes, and clears it at the end', () => {
    const { stderr, reporter } = humanReporter(true);
    reporter.startProgress(100 * MB, 'Receiving');
    reporter.updateProgress(50 * MB, 100 * MB, true);
    reporter.stopProgress();
    expect(stderr.text()).toMatch(/Receiving .*\[#+-+\] +50% +50\.0 MB \/ 100 MB/);
  });
});

describe('progress without a terminal', () => {
  it('prints a line every 5 s of the data phase, also while no byte moves, and none after it', () => {
    const { clock, stderr, reporter } = humanReporter();
    reporter.startProgress(100 * MB, 'Receiving');
    reporter.updateProgress(MB, 100 * MB);
    expect(stderr.lines()).toEqual([]);
    clock.advance(5000);
    expect(stderr.lines()).toHaveLength(1);
    expect(stderr.lines()[0]).toMatch(/^Receiving .* 1%  1\.00 MB \/ 100 MB {2}200 kB\/s/);
    // A stalled transfer: no update at all, yet the log shows a line every 5 s, with the rate falling.
    clock.advance(15_000);
    expect(stderr.lines()).toHaveLength(4);
    expect(stderr.lines()[3]).toMatch(/1\.00 MB \/ 100 MB {2}50\.0 kB\/s/);
    reporter.updateProgress(100 * MB, 100 * MB, true);
    reporter.stopProgress();
    clock.advance(60_000);
    expect(stderr.lines()).toHaveLength(4);
  });

  it('a stream of unknown size shows bytes and rate', () => {
    const { clock, stderr, reporter } = humanReporter();
    reporter.startProgress(undefined, 'Sending');
    reporter.updateProgress(10 * MB, undefined);
    clock.advance(5000);
    expect(stderr.lines()).toEqual(['Sending  10.0 MB  2.00 MB/s']);
    reporter.stopProgress();
  });
});

describe('the summary', () => {
  /** 30 MB in 6 s of data phase, in a transfer that took about 20 s from pairing (the receiver took 14 s to answer). */
  function transfer(reporter: Reporter, clock: ReturnType<typeof fakeClock>): void {
    clock.advance(14_000);
    reporter.startProgress(30 * MB, 'Sending');
    clock.advance(4000);
    reporter.updateProgress(25 * MB, 30 * MB);
    clock.advance(2000);
    reporter.updateProgress(30 * MB, 30 * MB, true);
    reporter.stopProgress();
    clock.advance(500);
  }
  const offer = { kind: 'file' as const, name: 'a.bin', size: 30 * MB };

  it('gives the rate of the data phase, the one the progress line showed, and the whole time apart', () => {
    const { clock, stderr, reporter } = humanReporter();
    transfer(reporter, clock);
    expect(stderr.lines()).toEqual([expect.stringMatching(/25\.0 MB \/ 30\.0 MB {2}5\.00 MB\/s/)]);
    reportDone(reporter, 'send', { offer, bytes: 30 * MB, sha256: 'ab', seconds: 20.4, transport: 'relay' });
    expect(stderr.lines().slice(1)).toEqual([
      'Sent 30.0 MB in 6.0 s (5.00 MB/s) via the relay; 20 s in all, with the key exchange and the answer.',
      'SHA-256 ab',
    ]);
  });

  it('--json: bytes, seconds from pairing, dataSeconds and bytesPerSecond of the data phase', () => {
    const { clock, reporter, events } = jsonReporter();
    transfer(reporter, clock);
    reportDone(reporter, 'receive', {
      offer,
      bytes: 30 * MB,
      sha256: 'ab',
      seconds: 20.5,
      transport: 'tcp',
      path: '/tmp/a.bin',
    });
    expect(events().at(-1)).toEqual({
      event: 'done',
      bytes: 30 * MB,
      sha256: 'ab',
      transport: 'tcp',
      seconds: 20.5,
      dataSeconds: 6,
      bytesPerSecond: 5 * MB,
      path: '/tmp/a.bin',
    });
  });

  it('a folder: the figure is the tar stream, and the summary says what it holds', () => {
    const { clock, stderr, reporter } = humanReporter();
    transfer(reporter, clock);
    const folder = { kind: 'folder' as const, name: 'f', size: 30 * MB, files: 12, bytes: 29_500_000 };
    reportDone(reporter, 'receive', { offer: folder, bytes: 30 * MB, sha256: 'ab', seconds: 20.4, path: '/tmp/f' });
    expect(stderr.lines().at(-2)).toBe(
      'Received 30.0 MB (a tar stream of 12 files, 29.5 MB) in 6.0 s (5.00 MB/s) via the relay → /tmp/f; 20 s in all, with the key exchange and the answer.',
    );
  });

  it('a text message has no data phase and no rate', () => {
    const { reporter, events } = jsonReporter();
    reportDone(reporter, 'receive', { offer: { kind: 'text', text: 'hi' }, bytes: 0, sha256: '', seconds: 0.25 });
    expect(events()).toEqual([{ event: 'done', bytes: 0, seconds: 0.25, text: 'hi' }]);
  });
});
