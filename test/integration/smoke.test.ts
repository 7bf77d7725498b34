import { client, inProcessApi } from '../helpers/api';
import { type Stack, startStack } from '../helpers/stack';

let stack: Stack;
const c = client(inProcessApi());

beforeAll(async () => {
  stack = await startStack();
  stack.startConsumer();
});
afterAll(() => stack.close());

test('a whole sale in process: create, grab, list, persist', async () => {
  const seller = await c.user('smoke_seller', 'saler');
  const customer = await c.user('smoke_customer', 'customer');
  expect((await c.createCoupon(seller, 'smoke_seller', { name: 'c1', amount: 1, stock: 5 })).status).toBe(201);
  expect((await c.grab(customer, 'smoke_seller', 'c1')).status).toBe(201);
  const again = await c.grab(customer, 'smoke_seller', 'c1');
  expect(again.status).toBe(204);
  expect(again.headers['x-seckill-reason']).toBe('already-owned');
  const listed = await c.list(customer, 'smoke_customer');
  expect(listed.body.data).toEqual([{ name: 'c1', seller: 'smoke_seller', stock: 5, description: '' }]);
  await stack.drain();
  const [rows] = await stack.db.query('SELECT username FROM purchases');
  expect(rows).toEqual([{ username: 'smoke_customer' }]);
});
