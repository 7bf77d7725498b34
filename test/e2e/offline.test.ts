/** End to end through `npm run dev`: serverless-offline plus the local queue poller. */
import { describeEndToEnd } from './suite';

describeEndToEnd('serverless offline', 'scripts/dev.ts');
