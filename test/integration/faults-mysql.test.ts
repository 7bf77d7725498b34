/**
 * Fault: MySQL crashes while grabs keep coming. This file's whole stack runs on a private MariaDB
 * server (its own data directory and port; the machine's shared server is never touched), which the
 * test SIGKILLs and restarts. The hot path does not need MySQL, so grabs go on; the consumer must
 * leave their messages in the queue and catch up once MySQL is back.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { services } from '../../lib/services';
import { client, inProcessApi } from '../helpers/api';
import {
  inParallel,
  observe,
  privateMariadb,
  quietLogs,
  type ServerProcess,
  saleState,
  sleep,
  statusCounts,
  stopAll,
} from '../helpers/faults';
import { type Stack, startStack } from '../helpers/stack';

const c = client(inProcessApi());
const SELLER = 'mysql_seller';
// Receives while MySQL is down count against the redrive policy: the outage must stay shorter than
// about MAX_RECEIVE_COUNT x VISIBILITY seconds, or the grabs would wait in the dead-letter queue.
const VISIBILITY = 1;
const MAX_RECEIVE_COUNT = 30;
let mariadb: ServerProcess;
let stack: Stack;
const logs = quietLogs();

beforeAll(async () => {
  mariadb = await privateMariadb();
  await mariadb.start();
  Object.assign(process.env, {
    MYSQL_HOST: '127.0.0.1',
    MYSQL_PORT: String(mariadb.port),
    MYSQL_USER: 'root',
    MYSQL_PASSWORD: '',
  });
  stack = await startStack({ visibilityTimeoutSeconds: VISIBILITY, maxReceiveCount: MAX_RECEIVE_COUNT });
  stack.startConsumer();
}, 60_000);

afterAll(async () => {
  await stack?.close();
  // Stops the private server and removes its data directory.
  await stopAll();
  logs.restore();
});

async function deadLettered(): Promise<number> {
  const { Attributes = {} } = await stack.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: stack.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

test('MySQL killed mid-sale: grabs go on, their messages wait in the queue, and are persisted once it is back', async () => {
  const sellerToken = await c.user(SELLER, 'saler');
  const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => c.user(`mysql_c${i}`, 'customer')));
  expect((await c.createCoupon(sellerToken, SELLER, { name: 'm1', amount: 10, stock: 2 })).status).toBe(201);
  const grab = (token: string) => () => c.grab(token, SELLER, 'm1').then((r) => r.status);
  const before = await inParallel(5, tokens.slice(0, 3).map(grab));
  expect(before).toEqual([201, 201, 201]);
  await stack.drain();

  await mariadb.kill();
  const killedAt = Date.now();
  // The API says so, without a 500: health names MySQL, a login (which needs MySQL) gets 503.
  const health = await c.health();
  expect(health.status).toBe(503);
  expect(health.body).toMatchObject({ mysql: 'unavailable', redis: 'ok', queue: 'ok' });
  // A login the login cache knows needs no MySQL; one it does not (here a wrong password, which never
  // takes the fast path) needs MySQL's hash: 503.
  expect((await c.login('mysql_c0', 'secret123')).status).toBe(200);
  const login = await c.login('mysql_c0', 'not-the-password');
  expect(login.status).toBe(503);
  // Grabs need only Redis and the queue: 7 more are sold, then none.
  const during = await inParallel(17, tokens.slice(3).map(grab));
  expect(statusCounts(during)).toEqual({ 201: 7, 204: 10 });
  await sleep(3000);
  const queuedWhileDown = await services().queue.backlog();
  expect(queuedWhileDown).toBe(7);
  expect(await deadLettered()).toBe(0);

  const restartMs = await mariadb.start();
  const restartedAt = Date.now();
  await stack.drain(30_000);
  const caughtUpInMs = Date.now() - restartedAt;

  const final = await saleState(stack.db, stack.redis, SELLER, 'm1');
  expect(final).toMatchObject({ rows: 10, mysqlLeft: 0, redisLeft: 0, pending: [] });
  expect(final.holders).toHaveLength(10);
  expect(await deadLettered()).toBe(0);
  expect((await c.login('mysql_c0', 'secret123')).status).toBe(200);
  observe('faults-mysql: killed', {
    grantedBefore: 3,
    grantedWhileDown: 7,
    soldOutWhileDown: 10,
    healthWhileDown: health.status,
    loginWhileDown: login.status,
    queuedWhileDown,
    downForMs: restartedAt - killedAt,
    mariadbRestartMs: restartMs,
    caughtUpInMs,
    rows: final.rows,
    mysqlLeft: final.mysqlLeft,
    redisLeft: final.redisLeft,
    deadLettered: 0,
  });
});
