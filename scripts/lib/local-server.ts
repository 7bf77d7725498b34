/**
 * Starts `npm run dev` or `npm start` the way a user does (`node scripts/run.mjs <script>`), in its
 * own process group, and waits until it serves: health answers 200 and the consumer announced
 * itself. The one way the tests and the benchmark start a server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type LocalScript = 'scripts/dev.ts' | 'scripts/start.ts';

export interface LocalServer {
  url: string;
  child: ChildProcess;
  /** Everything the server wrote so far (the last 1 MB). */
  output(): string;
  stop(): Promise<void>;
  startupSeconds: number;
}

/** The checkout: the folder of serverless.yml above this file (bundled into .build/ or not). */
function projectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'serverless.yml'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

const ROOT = projectRoot(__dirname);
const running = new Set<ChildProcess>();

/** `env` must hold HTTP_PORT (and LAMBDA_PORT for `npm run dev`); `logFile` keeps the whole output. */
export async function startLocalServer(
  script: LocalScript,
  env: NodeJS.ProcessEnv,
  o: { logFile?: string; timeoutMs?: number } = {},
): Promise<LocalServer> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'scripts/run.mjs'), script], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  const log = o.logFile ? createWriteStream(o.logFile) : undefined;
  let text = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (d: Buffer) => {
      log?.write(d);
      text = (text + d.toString()).slice(-1_000_000);
    });
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(-child.pid, 'SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
    log?.end();
  };
  const url = `http://127.0.0.1:${env.HTTP_PORT}`;
  const timeoutMs = o.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}:\n${text}`);
    const healthy = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.status === 200)
      .catch(() => false);
    if (healthy && /consumer polling/.test(text)) {
      return { url, child, output: () => text, stop, startupSeconds: Math.round((performance.now() - t0) / 100) / 10 };
    }
    await sleep(300);
  }
  await stop();
  throw new Error(`${script} did not become healthy in ${timeoutMs / 1000} s:\n${text}`);
}

/** Last resort on exit: every server group still running. */
export function killLocalServers(): void {
  for (const c of running) {
    try {
      if (c.pid) process.kill(-c.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
