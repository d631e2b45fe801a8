/** The folder entry checks live in the client core, shared with the page (packages/client/src/entry-check.ts). */
export {
  checkEntryName,
  checkLinkTarget,
  DEFAULT_MAX_ENTRIES,
  ENTRY_HINTS,
  entryKind,
  MAX_PATH_BYTES,
  unsafeEntry,
  type EntryKind,
  type EntryProblem,
} from '@portunus/client';
