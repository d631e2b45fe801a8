/**
 * The page's one screen and its states: the markup is index.html's (one section per state, hidden unless current);
 * this draws into it. `#app[data-state]` names the current state, for the stylesheet and for tests to wait on.
 * Every text from the other side goes in through textContent, never as markup. A new state moves the focus to its
 * heading, so keyboard and screen-reader users land where the page changed.
 */
import { type Code, formatCode, type Offer, type PathKind } from '@portunus/protocol';
import { type ErrorText } from './error-text.js';
import { describeOffer, formatBytes, formatSpeed } from './format.js';
import { ProgressMeter } from './progress-meter.js';
import { qrSvg } from './qr-svg.js';

export type PageState = 'start' | 'connecting' | 'code' | 'dropped' | 'offer' | 'progress' | 'done' | 'error';

export const PATH_NAMES: Record<PathKind, string> = {
  relay: 'through the relay',
  webrtc: 'directly (WebRTC)',
  tcp: 'directly (TCP)',
};

export class Screen {
  private meter: ProgressMeter;

  constructor(
    private readonly root: HTMLElement,
    private readonly now: () => number,
  ) {
    this.meter = new ProgressMeter(now);
  }

  get state(): string | undefined {
    return this.root.dataset['state'];
  }

  show(state: PageState): void {
    if (this.root.dataset['state'] === state) return;
    this.root.dataset['state'] = state;
    for (const section of this.root.querySelectorAll<HTMLElement>('section[data-view]')) {
      section.hidden = section.dataset['view'] !== state;
    }
    if (state !== 'start') this.find<HTMLElement>(`section[data-view="${state}"] h2`).focus();
  }

  connecting(text: string): void {
    this.text('#connecting-text', text);
    this.show('connecting');
  }

  /** The sender's code, its link and the link as a QR code. */
  code(code: Code, link: string): void {
    const shown = formatCode(code);
    this.text('#code-text', shown);
    const anchor = this.find<HTMLAnchorElement>('#code-link');
    anchor.href = link;
    anchor.textContent = link;
    this.text('#code-command', `portunus receive ${link}`);
    this.find('#qr').replaceChildren(qrSvg(link, `QR code of the link for ${shown}`));
    this.text('#code-status', 'Waiting for the receiver…');
    this.show('code');
  }

  /** A stored drop's code (drop codes carry their whole secret), its link as a QR code, and how long it is kept. */
  dropped(code: string, link: string, command: string, kept: string): void {
    this.text('#dropped-code', code);
    const anchor = this.find<HTMLAnchorElement>('#dropped-link');
    anchor.href = link;
    anchor.textContent = link;
    this.text('#dropped-command', command);
    this.find('#dropped-qr').replaceChildren(qrSvg(link, `QR code of the link for ${code}`));
    this.text('#dropped-expiry', kept);
    this.show('dropped');
  }

  codeStatus(text: string): void {
    this.text('#code-status', text);
  }

  /**
   * Shows the offer (and `note`, what the relay said of a stored drop) and resolves with the answer; rejects with
   * `signal`'s reason if it aborts first.
   */
  decide(offer: Offer, signal: AbortSignal, note?: string): Promise<boolean> {
    const { name, detail } = describeOffer(offer);
    this.text('#offer-name', name);
    this.text('#offer-detail', detail);
    this.text('#offer-drop', note ?? '');
    this.find('#offer-drop').hidden = note === undefined;
    this.show('offer');
    const accept = this.find<HTMLButtonElement>('#accept');
    const decline = this.find<HTMLButtonElement>('#decline');
    accept.focus();
    return new Promise<boolean>((resolve, reject) => {
      const settle = (answer: boolean | undefined) => {
        accept.onclick = decline.onclick = null;
        signal.removeEventListener('abort', onAbort);
        if (answer === undefined) reject(signal.reason);
        else resolve(answer);
      };
      const onAbort = () => settle(undefined);
      accept.onclick = () => settle(true);
      decline.onclick = () => settle(false);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
    });
  }

  /** Starts the progress view for a new transfer. */
  startProgress(title: string): void {
    this.meter = new ProgressMeter(this.now);
    this.text('#progress-title', title);
    this.text('#progress-text', '');
    this.text('#progress-path', '');
    this.find<HTMLProgressElement>('#bar').removeAttribute('value');
    this.show('progress');
  }

  progress(bytes: number, total: number | undefined): void {
    const { fraction, speed } = this.meter.read(bytes, total);
    const bar = this.find<HTMLProgressElement>('#bar');
    if (fraction === undefined) bar.removeAttribute('value');
    else bar.value = fraction;
    const percent = fraction === undefined ? '' : `${Math.floor(fraction * 100)} % · `;
    const of = total === undefined ? '' : ` of ${formatBytes(total)}`;
    this.text('#progress-text', `${percent}${formatBytes(bytes)}${of} · ${formatSpeed(speed)}`);
    if (this.state !== 'progress') this.show('progress');
  }

  path(path: PathKind): void {
    this.text('#progress-path', `Moving ${PATH_NAMES[path]}`);
  }

  progressTitle(title: string): void {
    this.text('#progress-title', title);
  }

  /** The end of a transfer: what happened, and the received data to save or read, if any. */
  done(text: string, received?: { save?: { url: string; name: string }; text?: string }): void {
    this.text('#done-text', text);
    const save = this.find<HTMLAnchorElement>('#save');
    save.hidden = received?.save === undefined;
    if (received?.save !== undefined) {
      save.href = received.save.url;
      save.download = received.save.name;
      save.textContent = `Save ${received.save.name}`;
    }
    const pre = this.find<HTMLElement>('#received-text');
    pre.hidden = received?.text === undefined;
    pre.textContent = received?.text ?? '';
    this.show('done');
  }

  error(error: ErrorText): void {
    this.root.dataset['error'] = error.code;
    this.text('#error-message', error.message);
    this.text('#error-hint', error.hint);
    this.show('error');
  }

  /** Back to the start, with the forms emptied. */
  reset(): void {
    delete this.root.dataset['error'];
    for (const form of this.root.querySelectorAll('form')) form.reset();
    this.show('start');
  }

  /** Shows `text` as the problem with a form (empty: none), without leaving the start. */
  problem(selector: string, text: string): void {
    const element = this.find(selector);
    element.textContent = text;
    element.hidden = text === '';
  }

  all(selector: string): HTMLElement[] {
    return [...this.root.querySelectorAll<HTMLElement>(selector)];
  }

  find<T extends Element = HTMLElement>(selector: string): T {
    const element = this.root.querySelector<T>(selector);
    if (element === null) throw new Error(`the page has no ${selector}`);
    return element;
  }

  private text(selector: string, text: string): void {
    this.find(selector).textContent = text;
  }
}
