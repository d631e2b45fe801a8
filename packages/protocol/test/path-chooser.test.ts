/** Choosing the path by measured throughput (path-chooser.ts, PROTOCOL.md §5.6), fed fake acknowledged-byte samples. */
import { describe, expect, it } from 'vitest';
import { choose, initialChooser, type ChooserEvent, type ChooserState, type PathKind } from '../src/path-chooser.js';

const config = { probeMs: 500, rateWindowMs: 1000, ratio: 1.5, probeBelow: 5000 };

/** A little world: one clock, the bytes acknowledged so far, and every switch the chooser asked for. */
class World {
  state: ChooserState = initialChooser(config);
  now = 0;
  bytes = 0;
  switches: { path: PathKind; reason: string }[] = [];
  feed(event: ChooserEvent): void {
    const r = choose(this.state, event);
    this.state = r.state;
    if (r.switchTo) {
      this.switches.push(r.switchTo);
      // The driver drains the old path, then says the new one carries.
      const s = choose(this.state, { type: 'started', at: this.now, bytes: this.bytes });
      this.state = s.state;
    }
  }
  up(path: PathKind): void {
    this.feed({ type: 'up', path, at: this.now });
  }
  lost(path: PathKind): void {
    this.feed({ type: 'lost', path, at: this.now });
  }
  /** `ms` of transfer at `rate` bytes/ms, sampled every 10 ms. */
  run(ms: number, rate: number): void {
    for (let t = 0; t < ms; t += 10) {
      this.now += 10;
      this.bytes += rate * 10;
      this.feed({ type: 'progress', at: this.now, bytes: this.bytes });
    }
  }
}

describe('path chooser', () => {
  it('starts on the first path up, probes a later one, and keeps it when it is not clearly slower', () => {
    const w = new World();
    w.up('relay');
    w.run(1000, 300);
    w.up('tcp');
    w.run(600, 1000);
    expect(w.switches).toEqual([
      { path: 'relay', reason: 'first' },
      { path: 'tcp', reason: 'probe' },
    ]);
    expect(w.state.current).toBe('tcp');
    expect(w.state.rates.relay).toBeCloseTo(300);
    expect(w.state.rates.tcp).toBeCloseTo(1000);
  });

  it('goes back once when the probed path is at least 1.5x slower, and never probes it again', () => {
    const w = new World();
    w.up('relay');
    w.run(1000, 300);
    w.up('webrtc');
    w.run(600, 100);
    expect(w.switches.slice(1)).toEqual([
      { path: 'webrtc', reason: 'probe' },
      { path: 'relay', reason: 'slower' },
    ]);
    // Hysteresis: however long it runs and whatever the rates do, no more switches.
    w.run(5000, 50);
    w.up('webrtc');
    expect(w.switches).toHaveLength(3);
  });

  it("times a probe from the probed path's first acknowledgement: a slow set-up is not a slow path", () => {
    const w = new World();
    w.up('relay');
    w.run(1000, 300);
    w.up('webrtc');
    w.run(1500, 0); // nothing acknowledged on the new path for three probe lengths (a channel still opening)
    expect(w.state.probe?.path).toBe('webrtc');
    w.run(600, 250);
    expect(w.switches.slice(1)).toEqual([{ path: 'webrtc', reason: 'probe' }]);
    expect(w.state.probe).toBeUndefined();
  });

  it('a probed path silent for four probe lengths is measured as it is: the data goes back', () => {
    const w = new World();
    w.up('relay');
    w.run(1000, 300);
    w.up('webrtc');
    w.run(1990, 0);
    expect(w.switches.slice(1)).toEqual([{ path: 'webrtc', reason: 'probe' }]);
    w.run(600, 0);
    expect(w.switches.slice(1)).toEqual([
      { path: 'webrtc', reason: 'probe' },
      { path: 'relay', reason: 'slower' },
    ]);
  });

  it('a probed path that acknowledges, then measures slower, still hands the data back', () => {
    const w = new World();
    w.up('relay');
    w.run(1000, 300);
    w.up('webrtc');
    w.run(300, 0);
    w.run(600, 50);
    expect(w.switches.slice(1)).toEqual([
      { path: 'webrtc', reason: 'probe' },
      { path: 'relay', reason: 'slower' },
    ]);
  });

  it('stays on a probed path that is somewhat slower but within the ratio (no switching for small gains)', () => {
    const w = new World();
    w.up('relay');
    w.run(1000, 300);
    w.up('tcp');
    w.run(600, 250);
    expect(w.state.current).toBe('tcp');
    expect(w.switches).toHaveLength(2);
  });

  it('a path coming up during a probe is probed after it, against the winner', () => {
    const w = new World();
    w.up('relay');
    w.run(1000, 300);
    w.up('tcp');
    w.run(100, 2000);
    w.up('webrtc');
    expect(w.state.current).toBe('tcp');
    w.run(500, 2000);
    expect(w.switches.slice(-1)).toEqual([{ path: 'webrtc', reason: 'probe' }]);
    w.run(600, 20);
    expect(w.switches.slice(-1)).toEqual([{ path: 'tcp', reason: 'slower' }]);
    expect(w.switches.map((s) => s.path)).toEqual(['relay', 'tcp', 'webrtc', 'tcp']);
  });

  it('fails over at once when the carrying path dies: to the fastest measured live path, else the relay', () => {
    const w = new World();
    w.up('relay');
    w.run(1000, 300);
    w.up('tcp');
    w.run(600, 1000);
    w.lost('tcp');
    expect(w.switches.slice(-1)).toEqual([{ path: 'relay', reason: 'failover' }]);
    // A path of that kind coming up again is a new connection (WebRTC dialled again): probed like any new path.
    w.up('tcp');
    expect(w.switches.slice(-1)).toEqual([{ path: 'tcp', reason: 'probe' }]);
    w.run(600, 1000);
    expect(w.state.current).toBe('tcp');
  });

  it('the only path dying and its kind coming up again (WebRTC dialled again): the data fails over to it', () => {
    const w = new World();
    w.up('webrtc');
    w.run(300, 300);
    w.lost('webrtc');
    expect(w.state.current).toBeUndefined();
    w.up('webrtc');
    expect(w.switches).toEqual([
      { path: 'webrtc', reason: 'first' },
      { path: 'webrtc', reason: 'failover' },
    ]);
  });

  it('the relay dying while it carries moves the data to a direct path at once', () => {
    const w = new World();
    w.up('relay');
    w.run(300, 300);
    w.lost('relay');
    expect(w.state.current).toBeUndefined();
    w.up('tcp');
    expect(w.switches.slice(-1)).toEqual([{ path: 'tcp', reason: 'failover' }]);
  });

  it('a probed path dying mid-probe hands the data back to the previous path', () => {
    const w = new World();
    w.up('relay');
    w.run(1000, 300);
    w.up('tcp');
    w.run(100, 1000);
    w.lost('tcp');
    expect(w.switches.slice(-1)).toEqual([{ path: 'relay', reason: 'failover' }]);
    expect(w.state.probe).toBeUndefined();
  });

  it('keeps a bounded number of samples however many acks arrive', () => {
    const w = new World();
    w.up('relay');
    for (let i = 0; i < 100_000; i++) {
      w.now += 0.1;
      w.bytes += 100;
      w.feed({ type: 'progress', at: w.now, bytes: w.bytes });
    }
    expect(w.state.samples.length).toBeLessThanOrEqual(40);
  });
});

describe('path chooser: when a probe is worth it', () => {
  it('from a direct path already faster than probeBelow, a later path is not probed', () => {
    const w = new World();
    w.up('tcp');
    w.run(300, 8000);
    w.up('webrtc');
    w.run(2000, 8000);
    expect(w.switches.map((s) => s.path)).toEqual(['tcp']);
  });

  it('from a slow direct path, a later path is probed once the rate is known', () => {
    const w = new World();
    w.up('webrtc');
    w.up('tcp');
    expect(w.switches.map((s) => s.path)).toEqual(['webrtc']);
    w.run(100, 20);
    expect(w.switches.map((s) => s.path)).toEqual(['webrtc', 'tcp']);
  });

  it('off the relay every direct path is probed, however fast the relay is', () => {
    const w = new World();
    w.up('relay');
    w.run(500, 50_000);
    w.up('tcp');
    expect(w.switches.slice(-1)).toEqual([{ path: 'tcp', reason: 'probe' }]);
  });
});

describe('path chooser at the end', () => {
  it('once the last frame is sealed, a new path is not probed and a probe does not switch back; a loss still fails over', () => {
    const w = new World();
    w.up('relay');
    w.run(1000, 300);
    w.up('tcp');
    w.run(100, 10);
    w.feed({ type: 'last', at: w.now });
    w.run(1000, 10);
    w.up('webrtc');
    expect(w.switches.map((s) => s.path)).toEqual(['relay', 'tcp']);
    w.lost('tcp');
    expect(w.switches.slice(-1)).toEqual([{ path: 'relay', reason: 'failover' }]);
  });

  it('a path up after every live path died takes the data as a failover', () => {
    const w = new World();
    w.up('relay');
    w.lost('relay');
    w.up('tcp');
    expect(w.switches.slice(-1)).toEqual([{ path: 'tcp', reason: 'failover' }]);
  });
});
