/**
 * Delay before retry number `attempt` (1 = first retry): `baseMs` doubled per attempt, capped at
 * `maxMs`, with ±20% jitter (as Kafka's clients do) so many producers do not retry in lockstep.
 * `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const exponential = baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30);
  const jittered = Math.min(exponential, maxMs) * (0.8 + 0.4 * random());
  return Math.round(Math.min(jittered, maxMs));
}
