/**
 * Links to the relay's page: the page's address follows the relay URL the CLI used (ws → http, wss → https, same
 * host and port, path /), the code rides only in the fragment, and `parseLink` takes back exactly such links.
 */
import { describe, expect, it } from 'vitest';
import { formatDropCode, PortunusError, parseCode, type Code, type DropCode } from '@portunus/protocol';
import { isDropCode, looksLikeLink, pageLink, pageOrigin, parseLink } from '../../src/ui/page-link.js';

const CODE = parseCode('7-H7K-29A') as Code;

function failure(fn: () => unknown): PortunusError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PortunusError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('pageOrigin', () => {
  it.each([
    ['ws://127.0.0.1:4747', 'http://127.0.0.1:4747/'],
    ['wss://relay.example.org', 'https://relay.example.org/'],
    ['wss://relay.example.org:443/v1', 'https://relay.example.org/'],
    ['https://relay.example.org:8443/behind/a/proxy?x=1', 'https://relay.example.org:8443/'],
    ['http://[::1]:4747', 'http://[::1]:4747/'],
    ['ws://Relay.Example.ORG:80/v1', 'http://relay.example.org/'],
  ])('%s → %s', (relay, page) => {
    expect(pageOrigin(relay)).toBe(page);
  });
});

describe('pageLink', () => {
  it('puts the code in the fragment only', () => {
    const link = pageLink(pageOrigin('wss://relay.example'), CODE);
    expect(link).toBe('https://relay.example/#7-H7K-29A');
    const url = new URL(link);
    expect(url.pathname + url.search).toBe('/');
    expect(url.hash).toBe('#7-H7K-29A');
  });
});

describe('parseLink', () => {
  it('takes back the code and the relay of a link it made', () => {
    const parsed = parseLink(pageLink('http://127.0.0.1:4747/', CODE));
    expect(parsed.relayOrigin).toBe('http://127.0.0.1:4747');
    expect(parsed.code).toEqual(CODE);
  });

  it("takes a stored drop's link (send --drop prints one), its D- code read as a typed drop code is", () => {
    const drop = 'D-7KQ2-M9XD-H4TB-0ZRA-WE5N-C8VJ-P3SG';
    for (const fragment of [drop, drop.toLowerCase(), `portunus:${drop}`]) {
      const parsed = parseLink(`https://relay.example/#${fragment}`);
      expect(parsed.relayOrigin).toBe('https://relay.example');
      expect(isDropCode(parsed.code)).toBe(true);
      expect(formatDropCode(parsed.code as DropCode)).toBe(drop);
    }
    expect(failure(() => parseLink('https://relay.example/#D-7KQ2-M9XD')).code).toBe('BAD_CODE');
  });

  it('reads the code as a typed code is read (case, separators, percent-encoding, the portunus: prefix)', () => {
    for (const fragment of ['7-h7k-29a', '7%20H7K%2029A', 'portunus:7-H7K-29A'])
      expect(parseLink(`https://relay.example/#${fragment}`).code).toEqual(CODE);
  });

  it.each([
    ['ftp://relay.example/#7-H7K-29A', 'https://'],
    ['relay.example/#7-H7K-29A', 'neither a code nor a link'],
    ['https://relay.example/', "no code after '#'"],
    ['https://relay.example/#', "no code after '#'"],
    ['https://relay.example@evil.example/#7-H7K-29A', 'no user name'],
    ['https://relay.example/download#7-H7K-29A', 'no path or query'],
    ['https://relay.example/?x=1#7-H7K-29A', 'no path or query'],
    [`https://relay.example/#7-${'A'.repeat(3000)}`, 'at most 2048'],
  ])('%s is a USAGE error with a hint', (link, message) => {
    const err = failure(() => parseLink(link));
    expect(err.code).toBe('USAGE');
    expect(err.message).toContain(message);
    expect(err.hint).toContain('https://relay.example/#7-H7K-29A');
  });

  it('a fragment that is not a code fails as a bad code does, without repeating the link', () => {
    const err = failure(() => parseLink('https://relay.example/#H7K-29A-SECRET'));
    expect(err.code).toBe('BAD_CODE');
    expect(err.message).toBe((parseCode('H7K-29A-SECRET') as PortunusError).message);
    expect(err.message).not.toContain('SECRET');
  });
});

describe('looksLikeLink', () => {
  it('tells links from codes: a code has neither / nor #', () => {
    expect(['7-H7K-29A', 'portunus:7-H7K-29A', '7 h7k 29a'].map(looksLikeLink)).toEqual([false, false, false]);
    expect(['https://r/#7-H7K-29A', 'r/#7-H7K-29A', '#7-H7K-29A'].map(looksLikeLink)).toEqual([true, true, true]);
  });
});
