/** Display and name safety live in the client core, shared with the page (packages/client/src/sanitize.ts). */
export {
  componentNameProblem,
  hasUnsafeChars,
  MAX_COMPONENT_BYTES,
  quoteForTerminal,
  safeComponentName,
  sanitizeForTerminal,
  type SanitizeOptions,
} from '@portunus/client/sanitize';
