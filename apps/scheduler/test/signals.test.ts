import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { handleSignals } from '../src/main.js';

describe('handleSignals', () => {
  function setup() {
    const source = new EventEmitter();
    const calls: string[] = [];
    const remove = handleSignals({
      onFirst: (s) => calls.push(`first:${s}`),
      onSecond: (s) => calls.push(`second:${s}`),
      source: source as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
    });
    return { source, calls, remove };
  }

  it('starts a graceful shutdown on the first SIGTERM or SIGINT, and exits on the next', () => {
    const { source, calls } = setup();
    source.emit('SIGTERM', 'SIGTERM');
    expect(calls).toEqual(['first:SIGTERM']);
    source.emit('SIGINT', 'SIGINT');
    expect(calls).toEqual(['first:SIGTERM', 'second:SIGINT']);
  });

  it('removes its handlers', () => {
    const { source, calls, remove } = setup();
    remove();
    expect(source.listenerCount('SIGTERM') + source.listenerCount('SIGINT')).toBe(0);
    source.emit('SIGINT', 'SIGINT');
    expect(calls).toEqual([]);
  });
});
