/** Applies pending schema migrations; invoked once after each deploy (`sls invoke -f migrate`). */
import middy from '@middy/core';
import { config } from '../lib/config';
import { migrate } from '../lib/db/migrations';
import { logger } from '../lib/logger';

export const handler = middy().handler(async () => ({ applied: await migrate(config().mysql, logger.info) }));
