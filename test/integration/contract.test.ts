/** The API contract and the bad-input corpus, against the handlers invoked in process. */
import { describeBadInput } from '../contract/bad-input';
import { type ContractTarget, describeContract } from '../contract/contract-suite';
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

describeContract('in process', target);
describeBadInput('in process', target);
