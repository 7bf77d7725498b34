/**
 * `npm run dev` without its dependencies: when Redis or MySQL cannot be reached (and no Docker
 * engine can start them), it names what is missing, says what to start, and exits non-zero.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');

async function runDev(env: Record<string, string>): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['scripts/run.mjs', 'scripts/dev.ts'], {
      cwd: ROOT,
      // DOCKER_HOST at a socket that does not exist: no engine can start them, wherever this runs.
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (e: unknown) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

test('unreachable Redis: names it, says what to start, exits non-zero', async () => {
  const { code, output } = await runDev({ REDIS_URL: 'redis://127.0.0.1:1', DOCKER_HOST: 'unix:///nonexistent.sock' });
  expect(code).not.toBe(0);
  expect(output).toContain('cannot reach Redis at redis://127.0.0.1:1');
  expect(output).toContain('docker compose up -d');
  expect(output).toContain('redis-server');
}, 90_000);

test('unreachable MySQL: names it and exits non-zero', async () => {
  const { code, output } = await runDev({ MYSQL_PORT: '1', DOCKER_HOST: 'unix:///nonexistent.sock' });
  expect(code).not.toBe(0);
  expect(output).toContain('MySQL at 127.0.0.1:1');
  expect(output).toContain('docker compose up -d');
}, 90_000);

test('a malformed setting is named before anything starts', async () => {
  const { code, output } = await runDev({ MYSQL_PORT: 'not-a-port' });
  expect(code).toBe(2);
  expect(output).toContain('MYSQL_PORT must be an integer');
}, 90_000);
