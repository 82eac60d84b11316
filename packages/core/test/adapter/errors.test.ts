import { FencedError, StateError, TransportError } from '@ksched/core';
import type { Transport } from '@ksched/core';
import { createErrorMapper, scheduleClientFactory, someCause } from '@ksched/core/adapter';
import { describe, expect, it } from 'vitest';

interface ClientError {
  readonly message: string;
  readonly kind: string;
  readonly cause?: unknown;
}

const { toTransportError, rethrowAs } = createErrorMapper<ClientError>({
  describe: (e) => `${e.kind}: ${e.message}`,
  retriable: (e) => e.kind === 'TRANSIENT',
  fenced: (e) => someCause(e, (c) => (c as { kind?: unknown }).kind === 'FENCED'),
});

describe('createErrorMapper', () => {
  it('passes ksched errors through, maps fencing (also in a cause) to FencedError, else a TransportError naming the operation', () => {
    const state = new StateError('closed');
    expect(toTransportError(state, 'x')).toBe(state);
    const fenced = toTransportError({ message: 'wrapped', kind: 'OTHER', cause: { message: 'f', kind: 'FENCED' } }, 'committing');
    expect(FencedError.isInstance(fenced)).toBe(true);
    const transient = toTransportError({ message: 'down', kind: 'TRANSIENT' }, 'producing');
    expect(TransportError.isInstance(transient) && transient.retriable).toBe(true);
    expect(transient.message).toBe('producing failed: TRANSIENT: down');
    const odd = toTransportError(42, 'reading');
    expect(odd.message).toBe('reading failed: 42');
    expect(odd.retriable).toBe(false);
    expect(() => rethrowAs('listing')({ message: 'no', kind: 'X' })).toThrow(/listing failed: X: no/);
  });

  it('someCause stops at the given depth', () => {
    let error: { message: string; cause?: unknown } = { message: 'deep-0' };
    for (let i = 1; i < 5; i++) error = { message: `deep-${i}`, cause: error };
    expect(someCause(error, (e) => e.message === 'deep-0')).toBe(true);
    expect(someCause(error, (e) => e.message === 'deep-0', 3)).toBe(false);
  });
});

describe('scheduleClientFactory', () => {
  it('uses a given transport without owning it, or creates one from the remaining options', async () => {
    const created: unknown[] = [];
    let closed = 0;
    const transport = { close: async () => void closed++ } as unknown as Transport;
    const factory = scheduleClientFactory((options: { brokers: string[] }) => {
      created.push(options);
      return transport;
    });
    await factory({ transport, schedulesTopic: 's' }).close();
    expect(created).toEqual([]);
    expect(closed).toBe(0);
    await factory({ brokers: ['b:1'], schedulesTopic: 's', uuid: () => 'u' }).close();
    expect(created).toEqual([{ brokers: ['b:1'] }]);
    expect(closed).toBe(1);
  });
});
