/** The CLI's side of every error code: an exit code and a hint for each, and the README's table equal to them. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, PortunusError, type ErrorCode } from '@portunus/protocol';
import { ERROR_GUIDE, exitCodeOf, hintOf } from '../../src/ui/error-guide.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('error guide', () => {
  it('covers every protocol error code, and the README lists each with its exit code and hint', () => {
    expect(Object.keys(ERROR_GUIDE).sort()).toEqual(Object.keys(ERRORS).sort());
    for (const [code, guide] of Object.entries(ERROR_GUIDE) as [ErrorCode, { exit: number; hint: string }][]) {
      expect(readme, code).toContain(`| \`${code}\` | ${guide.exit} | ${guide.hint.replace(/\|/g, '\\|')} |`);
    }
  });

  it("an error's own hint wins over its code's", () => {
    expect(hintOf(new PortunusError('FILE_ERROR', 'x', { hint: 'look here' }))).toBe('look here');
    expect(hintOf(new PortunusError('FILE_ERROR', 'x'))).toBe(ERROR_GUIDE.FILE_ERROR.hint);
    expect(exitCodeOf(new PortunusError('WRONG_CODE', 'x'))).toBe(3);
  });
});
