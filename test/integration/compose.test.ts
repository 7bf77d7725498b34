/**
 * docker-compose.yml must stay valid for users who have Docker: `docker-compose config` validates
 * it without an engine. Each service needs a healthcheck, and LocalStack mounts the init hook.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');

test('docker-compose.yml validates and declares Redis, MySQL and LocalStack with healthchecks', async () => {
  const { stdout } = await promisify(execFile)('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config'], {
    cwd: ROOT,
  });
  for (const service of ['redis:', 'mysql:', 'localstack:']) expect(stdout).toContain(service);
  expect(stdout.match(/healthcheck:/g)).toHaveLength(3);
  expect(stdout).toMatch(/localstack:\/etc\/localstack\/init\/ready\.d/);
});
