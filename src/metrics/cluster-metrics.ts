import { AggregatorRegistry, type Registry } from 'prom-client';

/** What the metrics endpoint serves: text in Prometheus's format, and its content type. */
export type MetricsSource = Pick<Registry, 'metrics' | 'contentType'>;

/**
 * In the primary of several IdP workers: every worker's metrics, gathered over the cluster's IPC
 * channel when scraped and added together (counters and histograms summed; each gauge as its
 * `aggregator` says), so that one scrape of METRICS_PORT sees the whole machine. A scrape that
 * reached one worker at random would see a different process's counters each time, and counters
 * that seem to go back. A worker that does not answer within five seconds fails the scrape (500).
 */
export function clusterMetrics(): MetricsSource {
  const aggregator = new AggregatorRegistry();
  return {
    metrics: () => aggregator.clusterMetrics(),
    get contentType() {
      return aggregator.contentType;
    },
  } as MetricsSource;
}

/** In a worker: answers the primary's requests for metrics with what `registry` holds. */
export function answerMetricsRequests(registry: Registry): void {
  // Constructing one sets up the worker's side of the exchange; the registry answered is ours.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}
