/**
 * Redis round trips and commands of one grab, per outcome, through the handlers in this process:
 * the grab is meant to cost one round trip besides the session check, whatever its outcome. A
 * round trip is a write of the client's socket (auto-pipelining sends a turn's commands in one).
 */
import type { Redis } from 'ioredis';
import { redis } from '../../lib/clients/redis';
import { invoke } from './load';
import { expect, header } from './workloads';

export interface GrabCost {
  outcome: string;
  roundTrips: number;
  commands: string[];
}

async function counted(client: Redis, call: () => Promise<{ status: number; headers: Record<string, unknown> }>) {
  await client.ping();
  const stream = (client as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream;
  const write = stream.write;
  const send = client.sendCommand;
  const commands: string[] = [];
  let writes = 0;
  stream.write = (...a: unknown[]) => {
    writes++;
    return write.apply(stream, a);
  };
  client.sendCommand = (command, stream2) => {
    commands.push(command.name);
    return send.call(client, command, stream2);
  };
  try {
    const r = await call();
    const outcome = r.status === 201 ? 'granted' : String(r.headers['X-Seckill-Reason'] ?? r.status);
    return { outcome, roundTrips: writes, commands };
  } finally {
    stream.write = write;
    client.sendCommand = send;
  }
}

export async function grabCosts(run: string): Promise<GrabCost[]> {
  const client = redis() as Redis;
  await client.ping();
  if (!client.stream) return []; // a cluster client: one connection per node
  const user = async (name: string, kind: string) => {
    const body = { username: name, password: 'secret123' };
    await expect(201, `register ${name}`, () => invoke('POST', '/api/users', { body: { ...body, kind } }));
    const r = await expect(200, `login ${name}`, () => invoke('POST', '/api/auth', { body }));
    return header(r.headers, 'authorization') ?? '';
  };
  const seller = `rt_s_${run}`;
  const [sellerToken, a, b] = [
    await user(seller, 'saler'),
    await user(`rt_a_${run}`, 'customer'),
    await user(`rt_b_${run}`, 'customer'),
  ];
  await expect(201, 'create the coupon', () =>
    invoke('POST', `/api/users/${seller}/coupons`, { token: sellerToken, body: { name: 'one', amount: 1, stock: 1 } }),
  );
  const grab = (token: string) => () => invoke('PATCH', `/api/users/${seller}/coupons/one`, { token });
  // Warm every path first (a token's first verification, the scripts' first EVALSHA).
  await invoke('GET', `/api/users/${seller}/coupons`, { token: a });
  await invoke('GET', `/api/users/${seller}/coupons`, { token: b });
  return [
    await counted(client, grab(a)),
    await counted(client, grab(a)),
    await counted(client, grab(b)),
    { ...(await counted(client, grab(b))), outcome: 'sold-out (from memory)' },
  ];
}
