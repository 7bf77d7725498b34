/**
 * How a handler gets a cold cache rebuilt without waiting for it. The rebuild needs MySQL
 * (`lib/warm-up.ts`), which the hot handlers do not carry: on Lambda (and under serverless-offline)
 * they invoke the `restoreCache` function asynchronously; a process that has MySQL at hand
 * (`npm start`, the tests) registers an in-process restorer, run in the background. Either way the
 * request then waits for the cache only within its own budget, and otherwise answers a fast 503.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { config } from './config';
import { describe, Unavailable } from './errors';
import { logger } from './logger';
import type { RebuildCache } from './stores/types';

export type Restorer = () => Promise<unknown>;

let restorer: Restorer | undefined;
let running: Promise<unknown> | undefined;

/** Rebuild in this process from now on (used where MySQL is available anyway). */
export function useRestorer(r: Restorer | undefined): void {
  restorer = r;
}

/** The longest a request waits for a rebuild before it answers 503 (rebuilds wait for the queue). */
const MAX_COLD_WAIT_MS = 2000;

export function restoring(): Unavailable {
  const { graceMs } = config().warmup;
  return new Unavailable('The sale is being restored. Retry shortly.', Math.ceil(graceMs / 1000) + 1);
}

/**
 * Has the cache rebuilt (asynchronously, once, under the rebuild lock) and waits for it until the
 * deadline, at most two seconds; then answers 503 with Retry-After.
 */
export async function awaitWarmCache(cache: RebuildCache, deadline: number): Promise<void> {
  try {
    await startRebuild(cache);
  } catch (e: unknown) {
    logger.error('cache rebuild could not be started', { error: describe(e) });
    throw restoring();
  }
  const until = Math.min(deadline, Date.now() + MAX_COLD_WAIT_MS);
  while (Date.now() + 100 < until) {
    await sleep(100);
    if (await cache.isWarm()) return;
  }
  throw restoring();
}

async function startRebuild(cache: RebuildCache): Promise<void> {
  if (restorer) {
    if (!running) {
      running = restorer()
        .catch((e: unknown) => logger.error('cache rebuild failed', { error: describe(e) }))
        .finally(() => {
          running = undefined;
        });
    }
    return;
  }
  // Many cold requests at once: one invocation every few seconds is enough (the rebuild takes a lock).
  if (!(await cache.claimRebuildRequest(5000))) return;
  const { functionName, lambdaEndpoint } = config().restore;
  if (!functionName) throw new Error('RESTORE_FUNCTION_NAME is not set');
  // The Lambda runtime ships the SDK; loaded only on this rare path.
  const { InvokeCommand, LambdaClient } = await import('@aws-sdk/client-lambda');
  const lambda = new LambdaClient({
    region: config().sqs.region,
    endpoint: lambdaEndpoint,
    credentials: lambdaEndpoint ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
  });
  try {
    await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event' }));
  } finally {
    lambda.destroy();
  }
}
