/**
 * Business metrics as CloudWatch embedded metric format (Powertools Metrics): JSON lines on stdout
 * that CloudWatch turns into metrics, with no API call on the request path. Namespace `Seckill`,
 * dimension `service` = `seckill-<stage>` (serverless.yml's alarms and dashboard use the same), plus
 * `outcome` on `Grabs`. Coupon names go in properties, never in dimensions (one metric per coupon
 * would be unbounded).
 *
 * Only on Lambda: elsewhere (npm start, serverless-offline, tests) every call is a no-op, and the
 * Powertools module is never loaded. Metrics are buffered during an invocation and written by the
 * `publishMetrics()` middleware when it ends.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { config } from './config';

export const NAMESPACE = 'Seckill';

/** The grab's outcomes, plus `refused` (4xx: bad token, a seller) and `failed` (5xx). */
export type GrabMetricOutcome =
  | 'granted'
  | 'sold-out'
  | 'already-owned'
  | 'not-found'
  | 'paused'
  | 'not-started'
  | 'ended'
  | 'rate-limited'
  | 'refused'
  | 'failed';

interface Sinks {
  /** Metrics with the `service` dimension only. */
  counts: Metrics;
  /** `Grabs` with its `outcome` dimension: a separate EMF document, so the counts above keep theirs. */
  grabs: Metrics;
}

let sinks: Sinks | null | undefined;

function open(): Sinks | null {
  if (sinks !== undefined) return sinks;
  if (!config().onLambda) {
    sinks = null;
    return sinks;
  }
  // Required only on Lambda, so local processes never evaluate it.
  const { Metrics: MetricsClass } =
    require('@aws-lambda-powertools/metrics') as typeof import('@aws-lambda-powertools/metrics');
  const options = { namespace: NAMESPACE, serviceName: `seckill-${config().stage}` };
  sinks = { counts: new MetricsClass(options), grabs: new MetricsClass(options) };
  return sinks;
}

function count(name: string, value = 1, properties?: Record<string, string>): void {
  const s = open();
  if (!s) return;
  s.counts.addMetric(name, 'Count', value);
  for (const [key, v] of Object.entries(properties ?? {})) s.counts.addMetadata(key, v);
}

export const metrics = {
  /** One grab answered, by outcome. */
  grab(outcome: GrabMetricOutcome, seller?: string, name?: string): void {
    const s = open();
    if (!s) return;
    s.grabs.addDimension('outcome', outcome);
    s.grabs.addMetric('Grabs', 'Count', 1);
    if (seller && name) s.grabs.addMetadata('coupon', `${seller}/${name}`);
  },
  /** A grab's purchase message could not be sent to the queue. */
  sendFailed(seller?: string, name?: string): void {
    count('SendsFailed', 1, seller && name ? { coupon: `${seller}/${name}` } : undefined);
  },
  /** A grab was undone after its send failed (the customer got 503). */
  grabReleased(seller?: string, name?: string): void {
    count('GrabsReleased', 1, seller && name ? { coupon: `${seller}/${name}` } : undefined);
  },
  /** One consumer batch: its size, the records acknowledged, and those handed back for retry. */
  batch(records: number, failed: number): void {
    count('BatchSize', records);
    count('PurchasesPersisted', records - failed);
    count('PurchaseFailures', failed);
    if (failed > 0) count('BatchFailures', 1);
  },
  /** The cache was rebuilt from MySQL. */
  rebuild(): void {
    count('Rebuilds', 1);
  },
};

/** Writes the invocation's metrics when it ends, answered or failed (Lambda only; a no-op elsewhere). */
export function publishMetrics<TEvent = unknown, TResult = unknown>(): MiddlewareObj<TEvent, TResult> {
  const publish = async () => {
    const s = open();
    if (!s) return;
    for (const m of [s.counts, s.grabs]) if (m.hasStoredMetrics()) m.publishStoredMetrics();
  };
  return { after: publish, onError: publish };
}
