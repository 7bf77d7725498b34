/**
 * The events and contexts the in-process benchmark invokes the handlers with: the project's own
 * builders (lib/server/invocation.ts), with a bench request id.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type HttpApiRequest, httpApiEvent } from '../../lib/server/invocation';

export { lambdaContext } from '../../lib/server/invocation';

let sequence = 0;

export type EventInput = Omit<HttpApiRequest, 'requestId'>;

export function apiEvent(r: EventInput): APIGatewayProxyEventV2 {
  return httpApiEvent({ ...r, requestId: `bench-${++sequence}` });
}
