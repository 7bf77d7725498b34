/**
 * One grab through the real handler, in a process of its own, so that a test can kill it in the
 * middle (see test/integration/faults-crash.test.ts). Configuration comes from the environment.
 * Usage: node scripts/run.mjs test/helpers/grab-in-child.ts <token> <seller> <coupon name>
 */
import { handler } from '../../functions/grab-coupon';
import { httpEvent, lambdaContext } from './events';

async function main(): Promise<void> {
  const [token = '', seller = '', name = ''] = process.argv.slice(2);
  const path = `/api/users/${encodeURIComponent(seller)}/coupons/${encodeURIComponent(name)}`;
  const event = httpEvent({
    method: 'PATCH',
    path,
    pathParameters: { username: seller, name },
    headers: { authorization: token },
  });
  const result = await handler(event, lambdaContext('grabCoupon'));
  console.log(JSON.stringify(result));
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
