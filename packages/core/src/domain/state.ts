/** The lifecycle states of a partition's scheduler, as written to the states topic. */
export const stateNames = ['fresh', 'loading', 'loaded', 'stopped'] as const;

/** One of {@link stateNames}. */
export type StateName = (typeof stateNames)[number];

/**
 * A partition's lifecycle: `fresh` (assigned, nothing read) → `loading` (replaying from the
 * beginning) → `loaded` (caught up: dispatching) → `stopped` (shut down, revoked or halted).
 * Transitions are unrestricted, as in the reference; the engine decides which it makes.
 */
export class State {
  #name: StateName = 'fresh';

  get name(): StateName {
    return this.#name;
  }

  isFresh(): boolean {
    return this.#name === 'fresh';
  }
  isLoading(): boolean {
    return this.#name === 'loading';
  }
  isLoaded(): boolean {
    return this.#name === 'loaded';
  }
  isStopped(): boolean {
    return this.#name === 'stopped';
  }

  fresh(): void {
    this.#name = 'fresh';
  }
  loading(): void {
    this.#name = 'loading';
  }
  loaded(): void {
    this.#name = 'loaded';
  }
  stopped(): void {
    this.#name = 'stopped';
  }

  toString(): string {
    return this.#name;
  }
}
