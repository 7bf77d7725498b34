/**
 * `.env.example` lists every setting lib/config.ts reads, and nothing else; so does the README's
 * configuration table. Variables the platform sets (Lambda, serverless-offline, the AWS SDK's
 * credentials) are not settings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const PLATFORM = new Set(['AWS_LAMBDA_FUNCTION_NAME', 'IS_OFFLINE', 'AWS_ACCESS_KEY_ID']);

const source = readFileSync(join(ROOT, 'lib', 'config.ts'), 'utf8');
const read = new Set(
  [...source.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]+)|, '([A-Z][A-Z0-9_]+)')/g)]
    .map((m) => m[1] ?? m[2] ?? '')
    .filter((name) => !PLATFORM.has(name)),
);

test('lib/config.ts is read the way this test expects (it finds the settings)', () => {
  expect(read.size).toBeGreaterThan(20);
  for (const name of ['REDIS_URL', 'MYSQL_DATABASE', 'JWT_SECRET', 'QUEUE_URL']) expect(read).toContain(name);
});

test('.env.example lists every setting, once, and nothing else', () => {
  const lines = readFileSync(join(ROOT, '.env.example'), 'utf8').split('\n');
  const listed = lines.map((l) => /^#? ?([A-Z][A-Z0-9_]+)=/.exec(l)?.[1]).filter((n): n is string => Boolean(n));
  expect([...listed].sort()).toEqual([...read].sort());
});

test("the README's configuration table lists every setting", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const rows = new Set([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
  for (const name of read) expect(rows).toContain(name);
});
