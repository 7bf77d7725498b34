/** Rebuilds a cold cache from MySQL, once, under a lock; invoked by handlers that found it cold. */
import middy from '@middy/core';
import { config } from '../lib/config';
import { services } from '../lib/services';
import { ensureWarm } from '../lib/warm-up';

export const handler = middy().handler(async () => {
  await ensureWarm(services(), config().warmup);
  return { warm: true };
});
