/**
 * Tests invoke the handlers in process, with MySQL at hand: a cold cache is rebuilt here, as in
 * `npm start`, instead of through the restoreCache Lambda (which the end-to-end tests exercise
 * through serverless-offline).
 */
import { config } from '../../lib/config';
import { useRestorer } from '../../lib/restore-cache';
import { services } from '../../lib/services';
import { ensureWarm } from '../../lib/warm-up';

useRestorer(() => ensureWarm(services(), config().warmup));
