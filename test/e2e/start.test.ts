/** End to end through `npm start`: the standalone node:cluster server. */
import { describeEndToEnd } from './suite';

describeEndToEnd('npm start', 'scripts/start.ts');
