/**
 * Rebuilds a cold cache from MySQL, once, under a lock; invoked asynchronously by handlers that
 * found it cold (reserved concurrency 1 on AWS). A second invocation finds the lock taken and returns.
 */
import middy from '@middy/core';
import { metrics, publishMetrics } from '../lib/metrics';
import { secrets } from '../lib/secrets';
import { rebuildHere } from '../lib/warm-up';

export const handler = middy()
  .use(secrets())
  .use(publishMetrics())
  .handler(async () => {
    const result = await rebuildHere();
    if (result === 'rebuilt') metrics.rebuild();
    return { result };
  });
