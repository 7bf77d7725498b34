/**
 * `npm run dev` without its dependencies: when Redis or MySQL cannot be reached (and no Docker
 * engine can start them), it names what is missing, says what to start, and exits non-zero.
 */
import { runToExit } from '../helpers/faults';

// DOCKER_HOST at a socket that does not exist: no engine can start them, wherever this runs.
const runDev = (env: Record<string, string>) => runToExit('scripts/dev.ts', env, 60_000);

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
