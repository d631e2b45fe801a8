/**
 * Burned nameplates (PROTOCOL.md §2.5): after a failed key confirmation a nameplate stays unusable for the
 * burn TTL. They are kept apart from the rooms, so burns never use up --max-nameplates, and bounded twice:
 * - at most `capacity` burns are remembered; when full, the oldest burn is forgotten first;
 * - at most `perAddress` remembered burns may involve one client address (limit key). A burn beyond that still ends
 *   both sides; it is just not remembered, so one client pairing with itself cannot fill the table.
 * A forgotten burn only means the nameplate can be used again early; the sender it belonged to has exited already.
 */

/** Remembered burns one client address may take part in (as either side) at a time. */
export const MAX_BURNS_PER_ADDRESS = 16;

interface Burn {
  readonly ends: number;
  readonly keys: readonly string[];
}

export class BurnedNameplates {
  /** In burn order (every burn lasts the same TTL), so the first entry is both the oldest and the first to lapse. */
  private readonly burns = new Map<number, Burn>();
  private readonly perKey = new Map<string, number>();

  constructor(private readonly options: { capacity: number; ttlMs: number; perAddress?: number }) {}

  get size(): number {
    return this.burns.size;
  }

  /** Addresses with at least one remembered burn (bounded by twice the capacity). */
  get trackedAddresses(): number {
    return this.perKey.size;
  }

  /** True while `nameplate`'s burn is remembered and has not lapsed. */
  has(nameplate: number, now: number): boolean {
    const burn = this.burns.get(nameplate);
    if (burn === undefined) return false;
    if (now < burn.ends) return true;
    this.forget(nameplate);
    return false;
  }

  /** Remembers a burn by the clients at `keys`; false when one of them is at its cap (the burn is not remembered). */
  add(nameplate: number, now: number, keys: readonly string[]): boolean {
    const unique = [...new Set(keys)];
    const cap = this.options.perAddress ?? MAX_BURNS_PER_ADDRESS;
    if (unique.some((key) => (this.perKey.get(key) ?? 0) >= cap)) return false;
    this.forget(nameplate);
    while (this.burns.size >= this.options.capacity) this.forget(this.burns.keys().next().value!);
    this.burns.set(nameplate, { ends: now + this.options.ttlMs, keys: unique });
    for (const key of unique) this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
    return true;
  }

  /** Forgets lapsed burns. */
  sweep(now: number): void {
    for (const [nameplate, burn] of this.burns) {
      if (now < burn.ends) return;
      this.forget(nameplate);
    }
  }

  private forget(nameplate: number): void {
    const burn = this.burns.get(nameplate);
    if (burn === undefined) return;
    this.burns.delete(nameplate);
    for (const key of burn.keys) {
      const count = this.perKey.get(key) ?? 0;
      if (count <= 1) this.perKey.delete(key);
      else this.perKey.set(key, count - 1);
    }
  }
}
