/**
 * Retrying a single request (metadata, watermarks) while librdkafka reports a transient error,
 * e.g. NOT_LEADER_FOR_PARTITION right after a topic was created or a leader moved.
 *
 * @module
 */
import { isRetriableError } from '../map-errors.js';

/** Runs `attempt` until it succeeds, fails with a non-retriable error, or `budgetMs` has passed. */
export async function retryTransient<T>(attempt: () => Promise<T>, budgetMs: number): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    try {
      return await attempt();
    } catch (error) {
      if (!isRetriableError(error) || Date.now() + wait > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
