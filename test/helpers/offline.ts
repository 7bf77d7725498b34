/**
 * Starts the real local server the way a user does (`npm run dev`: serverless-offline plus the
 * queue poller) on this worker's ports, databases and queue, and stops it afterwards.
 */
import { startLocalServer } from '../../scripts/lib/local-server';

export interface RunningServer {
  baseUrl: string;
  output: () => string;
  stop(): Promise<void>;
}

export async function startServer(
  script: 'scripts/dev.ts' | 'scripts/start.ts',
  extraEnv: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<RunningServer> {
  const worker = Number(process.env.SECKILL_TEST_WORKER ?? 1);
  const httpPort = 3100 + worker * 10;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    HTTP_PORT: String(httpPort),
    LAMBDA_PORT: String(httpPort + 1),
    // The runner announces itself (where it listens, the consumer) at info; no access lines in tests.
    LOG_LEVEL: 'info',
    ACCESS_LOG: 'false',
    ESBUILD_WORK_FOLDER: `.esbuild-worker-${worker}`,
    ...extraEnv,
  };
  delete env.JEST_WORKER_ID;
  const server = await startLocalServer(script, env, { timeoutMs });
  return { baseUrl: server.url, output: server.output, stop: server.stop };
}
