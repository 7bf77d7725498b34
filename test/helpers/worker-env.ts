/**
 * Runs in every test worker before any module loads: each worker gets its own Redis database,
 * MySQL database and queues, so test files can flush and fault-inject without touching each other.
 */
// SECKILL_TEST_SLOT (0-6) moves the whole run to other databases and ports, so two checkouts can
// run their tests side by side on one machine.
const worker = Number(process.env.JEST_WORKER_ID ?? 1) + 2 * Number(process.env.SECKILL_TEST_SLOT ?? 0);
process.env.SECKILL_TEST_WORKER = String(worker);
const run = process.env.SECKILL_TEST_RUN ?? String(process.pid);

process.env.STAGE = 'test';
process.env.REDIS_URL = `${(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').replace(/\/\d+$/, '')}/${worker}`;
process.env.MYSQL_DATABASE = `seckill_test_${worker}`;
process.env.QUEUE_NAME = `seckill-test-${worker}-${run}`;
delete process.env.QUEUE_URL;
delete process.env.DLQ_URL;
process.env.SCRYPT_LOG_N ??= '10';
// The cheapest argon2id the configuration allows (the default setting is tested through readConfig).
process.env.ARGON2_MEMORY_KIB ??= '1024';
process.env.ARGON2_TIME_COST ??= '1';
// A short time budget, validated as in production (lib/config.ts): 4 x 500 + 2 x 500 + 300 <= 3500.
process.env.REDIS_COMMAND_TIMEOUT_MS ??= '500';
process.env.SQS_SEND_TIMEOUT_MS ??= '500';
process.env.HANDLER_TIMEOUT_MS ??= '3500';
process.env.WARMUP_GRACE_MS ??= '1500';
process.env.WARMUP_DRAIN_TIMEOUT_MS ??= '10000';
process.env.OUTBOX_RESEND_AFTER_MS ??= '4000';
process.env.LOG_LEVEL ??= 'error';
