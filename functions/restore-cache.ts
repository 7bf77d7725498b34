/** Rebuilds a cold cache from MySQL, once, under a lock; invoked by handlers that found it cold. */
import middy from '@middy/core';
import { metrics, publishMetrics } from '../lib/metrics';
import { secrets } from '../lib/secrets';
import { rebuildHere } from '../lib/warm-up';

export const handler = middy()
  .use(secrets())
  .use(publishMetrics())
  .handler(async () => {
    await rebuildHere();
    metrics.rebuild();
    return { warm: true };
  });
