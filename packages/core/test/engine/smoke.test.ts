import { describe, expect, it } from 'vitest';
import { createTestEnvironment } from '@ksched/testkit';

describe('test environment smoke', () => {
  it('dispatches at the due millisecond, never before', async () => {
    await using env = await createTestEnvironment();
    await env.schedule({ message: { topic: 'emails', payload: 'hi' }, delayMs: 60_000 });
    await env.advance(59_999);
    expect(env.dispatched('emails')).toHaveLength(0);
    await env.advance(1);
    const [m] = env.dispatched('emails');
    expect(m?.value).toBe('hi');
    expect(m?.timestamp).toBe(m?.dueMs);
    expect(env.lastState()?.state).toBe('loaded');
  });
});
