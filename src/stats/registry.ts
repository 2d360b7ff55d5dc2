import type { StatsCollector } from './collector.js';

/**
 * Which collector belongs to which producer, for the OpenTelemetry bridge (`redis-stream-producer/otel`).
 * A module-private map instead of a public accessor: the collector is not part of the API.
 */
const collectors = new WeakMap<object, StatsCollector>();

export function registerCollector(producer: object, collector: StatsCollector): void {
  collectors.set(producer, collector);
}

/** The producer's collector, or undefined for anything that is not a `Producer` of this package. */
export function collectorOf(producer: unknown): StatsCollector | undefined {
  return typeof producer === 'object' && producer !== null ? collectors.get(producer) : undefined;
}
