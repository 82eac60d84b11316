import { describe, it, expect } from 'vitest';
import { State, stateNames } from '@ksched/core';

function predicates(state: State) {
  return { fresh: state.isFresh(), loading: state.isLoading(), loaded: state.isLoaded(), stopped: state.isStopped() };
}

// Reference §11, unit level: State.
describe('State', () => {
  it('starts fresh', () => {
    const state = new State();
    expect(state.name).toBe('fresh');
    expect(predicates(state)).toEqual({ fresh: true, loading: false, loaded: false, stopped: false });
  });

  it.each(stateNames)('setter and predicate of %s', (name) => {
    const state = new State();
    if (name !== 'fresh') state.loaded();
    state[name]();
    expect(state.name).toBe(name);
    expect(String(state)).toBe(name);
    expect(predicates(state)).toEqual({
      fresh: name === 'fresh',
      loading: name === 'loading',
      loaded: name === 'loaded',
      stopped: name === 'stopped',
    });
  });

  it('goes fresh → loading → loaded → stopped', () => {
    const state = new State();
    const seen = [state.toString()];
    state.loading();
    seen.push(state.toString());
    state.loaded();
    seen.push(state.toString());
    state.stopped();
    seen.push(state.toString());
    expect(seen).toEqual(['fresh', 'loading', 'loaded', 'stopped']);
  });

  it('allows any transition, as the reference does', () => {
    const state = new State();
    state.stopped();
    state.fresh();
    expect(state.isFresh()).toBe(true);
    state.loaded();
    state.loading();
    expect(state.isLoading()).toBe(true);
  });

  it('names exactly the four reference states', () => {
    expect([...stateNames]).toEqual(['fresh', 'loading', 'loaded', 'stopped']);
  });
});
