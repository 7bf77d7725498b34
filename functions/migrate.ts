/** Applies pending schema migrations; invoked once after each deploy (`sls invoke -f migrate`). */
import middy from '@middy/core';
import { config } from '../lib/config';
import { migrate } from '../lib/db/migrations';
import { logger } from '../lib/logger';
import { secrets } from '../lib/secrets';

export const handler = middy()
  .use(secrets())
  .handler(async () => ({ applied: await migrate(config().mysql, logger.info) }));
