/**
 * The HTTP targets, started as a user starts them (`npm run dev`: serverless-offline plus the
 * queue poller; `npm start`: the node:cluster server) on free ports, against the bench's stores
 * and queue, and ready once /api/health answers 200 and the consumer announced itself.
 */
import { join } from 'node:path';
import { type Child, freePort, httpStatus, progress, sleep, spawnChild } from './procs';
import type { Stack } from './stack';

export type ServerTarget = 'offline' | 'start';

export interface Server {
  target: ServerTarget;
  baseUrl: string;
  child: Child;
  startupSeconds: number;
  stop(): Promise<void>;
}

const SCRIPTS: Record<ServerTarget, string> = { offline: 'scripts/dev.ts', start: 'scripts/start.ts' };
const READY = /consumer polling/;

export async function startServer(
  target: ServerTarget,
  s: Stack,
  logDir: string,
  extraEnv: Record<string, string> = {},
  timeoutMs = 180_000,
): Promise<Server> {
  const httpPort = await freePort();
  let lambdaPort = await freePort();
  while (lambdaPort === httpPort) lambdaPort = await freePort();
  const env = {
    ...s.env,
    HTTP_PORT: String(httpPort),
    LAMBDA_PORT: String(lambdaPort),
    SQS_ENDPOINT: s.sqsEndpoint,
    QUEUE_URL: s.queueUrl,
    ESBUILD_WORK_FOLDER: `.esbuild-bench-${target}`,
    ...extraEnv,
  };
  const t0 = performance.now();
  const child = spawnChild(target, [join(s.root, 'scripts/run.mjs'), SCRIPTS[target]], {
    cwd: s.root,
    env,
    logFile: join(logDir, `${target}.log`),
    watch: [READY],
  });
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) {
      throw new Error(`${SCRIPTS[target]} exited with ${child.process.exitCode}:\n${child.tail()}`);
    }
    if (child.seen(READY) && (await httpStatus(`${baseUrl}/api/health`)) === 200) {
      const startupSeconds = Math.round((performance.now() - t0) / 100) / 10;
      progress(`${target}: ready on ${baseUrl} after ${startupSeconds} s (pid ${child.pid})`);
      return { target, baseUrl, child, startupSeconds, stop: () => child.stop() };
    }
    await sleep(250);
  }
  await child.stop();
  throw new Error(`${SCRIPTS[target]} was not ready within ${timeoutMs} ms:\n${child.tail()}`);
}
