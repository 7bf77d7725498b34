/** Scheduled: re-sends grabs whose queue message was never confirmed. */
import middy from '@middy/core';
import { config } from '../lib/config';
import { services } from '../lib/services';
import { sweepOutbox } from '../lib/sweep-outbox';

export const handler = middy().handler(async () => sweepOutbox(services(), config().outbox.resendAfterMs));
