/**
 * The page's behaviour: the start forms (files by picker or drop, a message, a code), a link's code (`/#7-H7K-29A`),
 * one transfer at a time with Cancel, and the end (done or error) with a way back to the start. The transfers
 * themselves are send-flow.ts and receive-flow.ts; this turns what they report into the screen's states.
 */
import {
  type Code,
  createError,
  type DropCode,
  formatDropCode,
  looksLikeDropCode,
  type Offer,
  parseCode,
  parseDropCode,
  PortunusError,
} from '@portunus/protocol';
import { DropApi, type DropLimits } from './drop/drop-api.js';
import { readDropChoice, showDropChoice } from './drop/drop-choice.js';
import { receiveDropFlow } from './drop/drop-receive-flow.js';
import { type DropChoice, sendDropFlow } from './drop/drop-send-flow.js';
import { errorText } from './error-text.js';
import { describeDropKept, describeDropLeft, describeOffer, formatBytes } from './format.js';
import { offerSaver, savedName } from './offer-saver.js';
import type { PageEnv } from './page-env.js';
import { receiveFlow } from './receive-flow.js';
import { codeLink, dropLink } from './relay-address.js';
import { PATH_NAMES, type Screen } from './screen.js';
import type { Saver } from './save/saver.js';
import { filesSource, fileSource, textSource } from './send-source.js';
import { sendFlow, type SendSource } from './send-flow.js';

export class App {
  private transfer: AbortController | undefined;
  private picked: File[] = [];
  private readonly urls: string[] = [];
  /** The relay's drop limits once `GET /drops` said it stores drops. */
  private dropLimits: DropLimits | undefined;

  constructor(
    private readonly screen: Screen,
    private readonly env: PageEnv,
    private readonly origin: string,
    /** Where received data goes (save/pick-saver.ts), settled before the first offer needs it. */
    private readonly saver: Promise<Saver>,
  ) {}

  /** Wires the forms and buttons; shows the start (or receives the code of a link). */
  start(hash: string): void {
    const { screen } = this;
    screen.find('#send-form').addEventListener('submit', (event) => (event.preventDefault(), this.submitSend()));
    screen.find('#receive-form').addEventListener('submit', (event) => (event.preventDefault(), this.submitCode()));
    screen.find<HTMLInputElement>('#files').addEventListener('change', (event) => {
      this.pick([...((event.target as HTMLInputElement).files ?? [])]);
    });
    this.wireDrop(screen.find('#drop'));
    for (const button of screen.all('.cancel')) {
      button.addEventListener('click', () => this.cancel());
    }
    for (const button of screen.all('.again')) {
      button.addEventListener('click', () => this.again());
    }
    screen.show('start');
    this.openLink(hash);
    void this.offerDrops();
  }

  /** Shows the send form's drop choice when the relay stores drops; without an answer it stays hidden. */
  private async offerDrops(): Promise<void> {
    const limits = await new DropApi(this.env.origin, this.env.fetch, new AbortController().signal)
      .limits()
      .catch(() => undefined);
    if (limits === undefined) return;
    this.dropLimits = limits;
    showDropChoice(this.screen.find('#send-form'), limits);
  }

  /** A link's fragment (`#7-H7K-29A`, or a drop's `#D-…`): receive that code. Returns false when there is none. */
  openLink(hash: string): boolean {
    const text = decodeURIComponent(hash.replace(/^#/, ''));
    if (text === '' || this.transfer !== undefined) return false;
    const failed = this.receiveCode(text);
    if (failed !== undefined) this.screen.error(errorText(failed));
    return true;
  }

  /** Receives a pickup code or a drop code (a leading `D-`), or says what is wrong with it. */
  private receiveCode(text: string): PortunusError | undefined {
    const drop = looksLikeDropCode(text);
    const code = drop ? parseDropCode(text) : parseCode(text);
    if (code instanceof PortunusError) return code;
    void (drop ? this.receiveDrop(code as DropCode) : this.receive(code as Code));
    return undefined;
  }

  private submitSend(): void {
    const text = this.screen.find<HTMLTextAreaElement>('#text').value;
    const chosen: SendSource | PortunusError | undefined =
      this.picked.length > 1
        ? filesSource(this.picked)
        : this.picked.length === 1
          ? fileSource(this.picked[0]!)
          : text !== ''
            ? textSource(text)
            : undefined;
    if (chosen === undefined) return this.screen.problem('#send-problem', 'Choose a file or type a message first.');
    if (chosen instanceof PortunusError) return this.screen.problem('#send-problem', errorText(chosen).message);
    this.screen.problem('#send-problem', '');
    const drop = readDropChoice(this.screen.find('#send-form'));
    void (drop === undefined || this.dropLimits === undefined
      ? this.send(chosen)
      : this.drop(chosen, this.dropLimits, drop));
  }

  private submitCode(): void {
    const typed = this.screen.find<HTMLInputElement>('#code').value;
    const failed = this.receiveCode(typed);
    // A mistyped pickup code gets the hint (what a code looks like); a drop code, what is wrong with it.
    const text = failed === undefined ? '' : looksLikeDropCode(typed) ? failed.message : errorText(failed).hint;
    this.screen.problem('#receive-problem', text);
  }

  /** Stores `source` on the relay for later receivers; shows its code, link and QR once the relay holds it all. */
  private async drop(source: SendSource, limits: DropLimits, choice: DropChoice): Promise<void> {
    const { screen } = this;
    await this.run(async (signal) => {
      screen.startProgress(`Dropping ${describeOffer(source.offer).name} on the relay`);
      const view = { progress: (bytes: number, total: number | undefined) => screen.progress(bytes, total) };
      const dropped = await sendDropFlow(this.env, source, limits, choice, view, signal);
      const shown = formatDropCode(dropped.code);
      const command = `portunus receive --relay ${this.env.relayUrl} ${shown}`;
      const kept = describeDropKept(dropped.expiresAt, dropped.downloads);
      screen.dropped(shown, dropLink(this.origin, dropped.code), command, kept);
    });
  }

  private async receiveDrop(code: DropCode): Promise<void> {
    const { screen } = this;
    await this.run(async (signal) => {
      const saver = offerSaver(await this.saver);
      const got = await receiveDropFlow(
        this.env,
        code,
        saver,
        {
          connecting: () => screen.connecting('Downloading the drop from the relay…'),
          decide: async (offer, drop, decided) => {
            const yes = await screen.decide(offer, decided, describeDropLeft(drop));
            if (yes) screen.startProgress(`Receiving ${describeOffer(offer).name}`);
            return yes;
          },
          progress: (bytes, total) => screen.progress(bytes, total),
        },
        signal,
      );
      this.received(got.offer, got.bytes, saver.kind, got.saved, 'every stored record checked out');
    });
  }

  private async send(source: SendSource): Promise<void> {
    const { screen } = this;
    const { name } = describeOffer(source.offer);
    let moving = false;
    await this.run(async (signal) => {
      const sent = await sendFlow(
        this.env,
        source,
        {
          connecting: () => screen.connecting('Asking the relay for a code…'),
          code: (code) => screen.code(code, codeLink(this.origin, code)),
          paired: () => screen.codeStatus('The receiver is here; securing the connection…'),
          confirming: () => screen.progressTitle('Waiting for the receiver to confirm…'),
          progress: (bytes, total) => {
            if (!moving) screen.startProgress(`Sending ${name}`);
            moving = true;
            screen.progress(bytes, total);
          },
          path: (path) => screen.path(path),
        },
        signal,
      );
      const how = sent.transport === undefined ? '' : ` ${PATH_NAMES[sent.transport]}`;
      const what = source.offer.kind === 'text' ? 'the message' : `${name} (${formatBytes(sent.bytes)})`;
      screen.done(`Sent ${what}${how}. The receiver confirmed it.`);
    });
  }

  private async receive(code: Code): Promise<void> {
    const { screen } = this;
    await this.run(async (signal) => {
      const saver = offerSaver(await this.saver);
      const got = await receiveFlow(
        this.env,
        code,
        saver,
        {
          connecting: () => screen.connecting('Connecting to the relay…'),
          waiting: () => screen.connecting('Waiting for the sender…'),
          decide: async (offer, decided) => {
            const yes = await screen.decide(offer, decided);
            if (yes) screen.startProgress(`Receiving ${describeOffer(offer).name}`);
            return yes;
          },
          progress: (bytes, total) => screen.progress(bytes, total),
          path: (path) => screen.path(path),
        },
        signal,
      );
      this.received(got.offer, got.bytes, saver.kind, got.saved);
    });
  }

  private received(
    offer: Offer,
    bytes: number,
    kind: string,
    saved: string | undefined,
    checked = 'its SHA-256 matches what was sent',
  ): void {
    if (offer.kind === 'text') return this.screen.done('Received a message:', { text: offer.text });
    const what = `Received ${describeOffer(offer).name} (${formatBytes(bytes)}); ${checked}.`;
    const name = savedName(offer);
    if (kind === 'download') return this.screen.done(`${what} Saved to your downloads as ${name}.`);
    if (kind !== 'memory') return this.screen.done(`${what} Saved as ${saved ?? name}.`);
    this.urls.push(saved!);
    this.screen.done(what, { save: { url: saved!, name } });
  }

  /** Runs one transfer with its own Cancel; its failure becomes the error state. */
  private async run(work: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const transfer = new AbortController();
    this.transfer = transfer;
    try {
      await work(transfer.signal);
    } catch (err) {
      this.screen.error(errorText(err));
    } finally {
      if (this.transfer === transfer) this.transfer = undefined;
    }
  }

  private cancel(): void {
    this.transfer?.abort(createError('CANCELLED', 'cancelled on this side'));
  }

  private again(): void {
    for (const url of this.urls.splice(0)) URL.revokeObjectURL(url);
    this.pick([]);
    this.screen.reset();
  }

  private pick(files: File[]): void {
    this.picked = files;
    const names = files.map((f) => f.name).join(', ');
    const shown =
      files.length === 0
        ? 'Choose files, or drop them here'
        : `${files.length === 1 ? '' : `${files.length} files: `}${names}`;
    this.screen.find('#drop-text').textContent = shown;
  }

  private wireDrop(zone: HTMLElement): void {
    const over = (event: DragEvent, on: boolean) => {
      event.preventDefault();
      zone.classList.toggle('over', on);
    };
    zone.addEventListener('dragover', (event) => over(event, true));
    zone.addEventListener('dragleave', (event) => over(event, false));
    zone.addEventListener('drop', (event) => {
      over(event, false);
      this.pick([...(event.dataTransfer?.files ?? [])]);
    });
  }
}
