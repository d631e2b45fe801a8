/**
 * Names Windows cannot create as ordinary files are refused on every platform, so a folder lands the same way on
 * Linux, macOS and Windows (PROTOCOL.md §4.4). On Windows a device name opens the device whatever its
 * extension (`CON.txt` writes to the console, `NUL.tar.gz` to nowhere), `a:b` writes an alternate data stream of
 * `a`, `<>"|?*` are refused or taken as wildcards, and a trailing dot or space is silently dropped, so `x.` and `x`
 * would be one file. Control characters are refused by sanitize.ts already.
 */

/**
 * The device names of Microsoft's "Naming Files, Paths, and Namespaces" (COM and LPT with 0–9 and the superscripts
 * ¹ ² ³, which Windows also matches), plus the console's CONIN$ and CONOUT$.
 */
const DEVICE_NAME = /^(?:CON|PRN|AUX|NUL|COM[0-9\u00b9\u00b2\u00b3]|LPT[0-9\u00b9\u00b2\u00b3]|CONIN\$|CONOUT\$)$/i;
const FORBIDDEN_CHAR = /[<>:"|?*]/;

export const NOT_PORTABLE_HINT =
  'Windows cannot create this name, so receivers refuse it on every system; nothing was kept. Ask the sender to rename it.';

/** Why Windows cannot create `name` (one path component) as an ordinary file, or undefined when it can. */
export function windowsNameProblem(name: string): string | undefined {
  const forbidden = FORBIDDEN_CHAR.exec(name);
  if (forbidden !== null) return `it contains '${forbidden[0]}', which Windows does not allow in names`;
  if (name.endsWith('.') || name.endsWith(' ')) return 'it ends with a dot or a space, which Windows drops';
  // Windows matches the part before the first dot, ignoring spaces before that dot ("CON .txt" is the console too).
  const stem = name.split('.', 1)[0]!.replace(/ +$/, '');
  if (DEVICE_NAME.test(stem)) return `${stem.toUpperCase()} is a device name on Windows`;
  return undefined;
}
