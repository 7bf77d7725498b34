/**
 * How a handler gets a cold cache rebuilt. The rebuild needs MySQL (`lib/warm-up.ts`), which the
 * hot handlers do not carry: on Lambda (and under serverless-offline) they invoke the
 * `restoreCache` function and wait for it; a process that has MySQL at hand (`npm start`, the
 * tests) registers an in-process restorer instead.
 */
import { config } from './config';
import { Unavailable } from './errors';

export type Restorer = () => Promise<void>;

let restorer: Restorer | undefined;

/** Rebuild in this process from now on (used where MySQL is available anyway). */
export function useRestorer(r: Restorer | undefined): void {
  restorer = r;
}

export async function restoreCache(): Promise<void> {
  if (restorer) return restorer();
  const { functionName, lambdaEndpoint } = config().restore;
  if (!functionName) throw new Unavailable('The sale is being restored. Retry shortly.');
  // The Lambda runtime ships the SDK; loaded only on this rare path.
  const { InvokeCommand, LambdaClient } = await import('@aws-sdk/client-lambda');
  const lambda = new LambdaClient({
    region: config().sqs.region,
    endpoint: lambdaEndpoint,
    credentials: lambdaEndpoint ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
  });
  try {
    const out = await lambda.send(new InvokeCommand({ FunctionName: functionName }));
    if (out.FunctionError) throw new Unavailable('The sale is being restored. Retry shortly.');
  } finally {
    lambda.destroy();
  }
}
