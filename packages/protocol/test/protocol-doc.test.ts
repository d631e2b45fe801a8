/** PROTOCOL.md is the spec; these checks keep the parts of it that mirror code from drifting. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../src/errors.js';
import { CROCKFORD_ALPHABET } from '../src/code.js';
import { frameOverhead, HEADER_BYTES } from '../src/frame.js';

const doc = readFileSync(new URL('../PROTOCOL.md', import.meta.url), 'utf8');

describe('PROTOCOL.md', () => {
  it('lists every error code with its close code', () => {
    for (const [code, spec] of Object.entries(ERRORS) as [ErrorCode, { close?: number }][]) {
      expect(doc, `row for ${code}`).toContain(`| \`${code}\` | ${spec.close ?? '—'} |`);
    }
  });

  it('states the code alphabet and the frame header size the code uses', () => {
    expect(doc).toContain(CROCKFORD_ALPHABET);
    expect(doc).toContain(`HEADER_BYTES = ${HEADER_BYTES}`);
    expect(doc).toContain(`overhead = ${frameOverhead} bytes`);
  });

  it('has no unmerged placeholders', () => {
    expect(doc).not.toMatch(/\b[A-Z]+_SECTION\b|ERRORS_TABLE/);
  });
});
