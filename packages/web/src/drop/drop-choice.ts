/**
 * The send form's "Drop on the relay (receive later)" choice: shown only when the relay said it stores drops
 * (`GET /drops`), with an expiry and a number of downloads offered within the relay's limits (the CLI's defaults
 * first: a day, one download).
 */
import type { DropLimits } from './drop-api.js';
import type { DropChoice } from './drop-send-flow.js';

const EXPIRIES: readonly (readonly [number, string])[] = [
  [86_400, '1 day'],
  [3_600, '1 hour'],
  [7 * 86_400, '7 days'],
];
const DOWNLOADS = [1, 2, 3, 5, 10, 100];

/** The options within `limits` (at least one each: the relay's own maximum when every preset is above it). */
export function dropOptions(limits: DropLimits): { expiries: [number, string][]; downloads: number[] } {
  const expiries = EXPIRIES.filter(([s]) => s <= limits.maxExpirySeconds).map(([s, l]): [number, string] => [s, l]);
  const downloads = DOWNLOADS.filter((n) => n <= limits.maxDownloads);
  return {
    expiries: expiries.length > 0 ? expiries : [[limits.maxExpirySeconds, `${limits.maxExpirySeconds} seconds`]],
    downloads: downloads.length > 0 ? downloads : [limits.maxDownloads],
  };
}

/** Fills the choice's selects from `limits` and shows it. */
export function showDropChoice(form: HTMLElement, limits: DropLimits): void {
  const { expiries, downloads } = dropOptions(limits);
  const fill = (select: HTMLSelectElement, options: [string, string][]) => {
    select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
  };
  fill(
    select(form, '#drop-expire'),
    expiries.map(([s, label]) => [String(s), label]),
  );
  fill(
    select(form, '#drop-downloads'),
    downloads.map((n) => [String(n), n === 1 ? '1 (then it is deleted)' : String(n)]),
  );
  form.querySelector<HTMLElement>('#drop-choice')!.hidden = false;
}

/** What the person chose, or undefined when the drop box is not ticked (a live transfer). */
export function readDropChoice(form: HTMLElement): DropChoice | undefined {
  const later = form.querySelector<HTMLInputElement>('#drop-later');
  if (later === null || !later.checked || form.querySelector<HTMLElement>('#drop-choice')!.hidden) return undefined;
  return {
    expires: Number(select(form, '#drop-expire').value),
    downloads: Number(select(form, '#drop-downloads').value),
  };
}

function select(form: HTMLElement, selector: string): HTMLSelectElement {
  return form.querySelector<HTMLSelectElement>(selector)!;
}
