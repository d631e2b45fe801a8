import { describe, expect, it } from 'vitest';
import { formatRelayIdle, measureRelayIdle } from '../../bench/relay-idle.js';

describe('relay with 1,000 idle connections', () => {
  it('stays under 200 MB RSS', async () => {
    const result = await measureRelayIdle({ connections: 1000 });
    console.log(formatRelayIdle(result));
    expect(result.connections).toBe(1000);
    expect(result.rss).toBeGreaterThan(result.baselineRss);
    expect(result.rss).toBeLessThan(200 * 1000 * 1000);
  });
});
