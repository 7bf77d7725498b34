/** Rebuilds a cold cache from MySQL, once, under a lock; invoked by handlers that found it cold. */
import middy from '@middy/core';
import { rebuildHere } from '../lib/warm-up';

export const handler = middy().handler(async () => {
  await rebuildHere();
  return { warm: true };
});
