/**
 * `npm start`: the standalone server. The same handlers, served by Node's HTTP server in one worker
 * process per core (node:cluster); the primary process delivers queue batches to the consumer
 * (with the Lambda event source's semantics) and runs the outbox sweeper. Redis and MySQL must be
 * reachable; the queue is SQS_ENDPOINT / QUEUE_URL, or the embedded emulator in local stages.
 */
import cluster from 'node:cluster';
import { config } from '../lib/config';
import { describe } from '../lib/errors';
import { logger } from '../lib/logger';
import { useRestorer } from '../lib/restore-cache';
import { closeServices, services } from '../lib/services';
import { sweepOutbox } from '../lib/sweep-outbox';
import { rebuildHere } from '../lib/warm-up';
import { log, prepareLocalRun } from './lib/local-stack';
import { startConsumer } from './lib/stack';
import { createApiServer } from './server/node-server';

async function primary() {
  const queue = await prepareLocalRun();
  const cfg = queue.cfg;

  let stopping = false;
  const fork = () => cluster.fork(queue.env);
  for (let i = 0; i < cfg.local.serverWorkers; i++) fork();
  const listening = new Set<number>();
  cluster.on('listening', (worker, address) => {
    // One line, from the first worker: where the API really listens.
    if (listening.size === 0) log(`API listening on ${describeAddress(address)}`);
    listening.add(worker.id);
  });
  cluster.on('exit', (worker, code) => {
    if (stopping) return;
    if (code === PORT_IN_USE) {
      logger.error(`port ${cfg.local.httpPort} is in use (another npm start?): stop that process, or set HTTP_PORT.`);
      void shutdown(1);
      return;
    }
    if (!listening.has(worker.id)) {
      // A worker that dies before it serves would die again: stop rather than re-fork forever.
      logger.error(`a server worker exited (${code}) before it listened; stopping.`);
      void shutdown(1);
      return;
    }
    log(`worker ${worker.process.pid} exited (${code}); starting another`);
    fork();
  });

  const poller = startConsumer(queue, {
    onError: (e) => logger.error('consumer delivery failed; batch left in the queue', { error: describe(e) }),
  });
  const sweeper = setInterval(
    () => {
      sweepOutbox(services(), config().outbox.resendAfterMs).catch((e: unknown) =>
        logger.error('outbox sweep failed', { error: describe(e) }),
      );
    },
    Math.min(30_000, cfg.outbox.resendAfterMs),
  );

  async function shutdown(code = 0) {
    if (stopping) return;
    stopping = true;
    clearInterval(sweeper);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    await poller.stop();
    await queue.close();
    process.exit(code);
  }
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  log(`${cfg.local.serverWorkers} workers; consumer polling ${cfg.sqs.queueUrl}`);
}

/** Exit code of a worker whose port is taken: the primary stops instead of re-forking. */
const PORT_IN_USE = 98;

function describeAddress(a: { address: string | null; port: number; addressType: number | string }): string {
  const any = a.address === null || a.address === '' || a.address === '::' || a.address === '0.0.0.0';
  const host = any ? '*' : a.addressType === 6 || a.addressType === 'udp6' ? `[${a.address}]` : a.address;
  return `http://${host}:${a.port}${any ? ' (all interfaces)' : ''}`;
}

function worker() {
  // MySQL is at hand in this process: rebuild a cold cache here rather than through Lambda.
  useRestorer(rebuildHere);
  const { local } = config();
  const server = createApiServer(local);
  server.once('error', (e: unknown) => {
    const code = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
    if (code === 'EADDRINUSE') process.exit(PORT_IN_USE);
    throw e;
  });
  server.listen(local.httpPort);
  // Requests in flight finish; idle connections close at once, busy ones after at most 5 s. Ctrl-C
  // reaches every process of the group and the primary then asks each worker to stop as well: a
  // second signal changes nothing (left to its default, it would end the worker mid-request).
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close(() => void closeServices().finally(() => process.exit(0)));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (cluster.isPrimary) {
  primary().catch((e: unknown) => {
    logger.error('npm start failed', { error: describe(e) });
    process.exit(1);
  });
} else {
  worker();
}
