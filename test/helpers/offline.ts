/**
 * Starts the real local server the way a user does (`npm run dev`: serverless-offline plus the
 * queue poller) on this worker's ports, databases and queue, and stops it afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export interface RunningServer {
  baseUrl: string;
  output: () => string;
  stop(): Promise<void>;
}

const ROOT = join(__dirname, '..', '..');

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
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'scripts/run.mjs'), script], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}:\n${log}`);
    try {
      const res = await fetch(`${baseUrl}/api/health`);
      // The consumer is live once the poller announced itself.
      if (res.status === 200 && /consumer polling/.test(log)) return { baseUrl, output: () => log, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  await stop();
  throw new Error(`${script} did not become healthy in ${timeoutMs} ms:\n${log}`);
}
