/** The rows of api.md on operating a sale, against the handlers invoked in process. */
import type { ContractTarget } from '../contract/contract-suite';
import { describeSaleContract } from '../contract/sale-suite';
import { client, inProcessApi } from '../helpers/api';
import { type Stack, startStack } from '../helpers/stack';

let stack: Stack;
const api = client(inProcessApi());

beforeAll(async () => {
  stack = await startStack();
  stack.startConsumer();
});
afterAll(() => stack.close());

const target = (): ContractTarget => ({ client: () => api, stack: () => stack, transport: 'in-process' });

describeSaleContract('in process', target);
