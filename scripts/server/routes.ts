/**
 * The HTTP API's routes, as API Gateway matches them: method + path template, with the path
 * parameters passed URL-decoded (as the HTTP API does). Used by the standalone server and the
 * in-process test client; `serverless.yml` declares the same routes for API Gateway.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { handler as controlCoupon } from '../../functions/control-coupon';
import { handler as couponStats } from '../../functions/coupon-stats';
import { handler as createCoupon } from '../../functions/create-coupon';
import { handler as grabCoupon } from '../../functions/grab-coupon';
import { handler as health } from '../../functions/health';
import { handler as listCoupons } from '../../functions/list-coupons';
import { handler as login } from '../../functions/login';
import { handler as logout } from '../../functions/logout';
import { handler as openapi } from '../../functions/openapi';
import { handler as register } from '../../functions/register';
import { handler as salePage } from '../../functions/sale-page';
import type { HttpResult } from '../../lib/http/response';

export type HttpLambda = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResult>;

interface Route {
  /** `METHOD /path/{param}`: API Gateway's route key, the same in serverless.yml. */
  key: string;
  method: string;
  pattern: RegExp;
  params: string[];
  handler: HttpLambda;
}

const SEGMENT = '([^/]+)';

function route(method: string, template: string, handler: unknown): Route {
  const params: string[] = [];
  const source = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    params.push(name);
    return SEGMENT;
  });
  return {
    key: `${method} ${template}`,
    method,
    pattern: new RegExp(`^${source}$`),
    params,
    handler: handler as HttpLambda,
  };
}

export const ROUTES: Route[] = [
  route('POST', '/api/users', register),
  route('POST', '/api/auth', login),
  route('POST', '/api/auth/logout', logout),
  route('POST', '/api/users/{username}/coupons', createCoupon),
  route('GET', '/api/users/{username}/coupons', listCoupons),
  route('PATCH', '/api/users/{username}/coupons/{name}', grabCoupon),
  route('POST', '/api/users/{username}/coupons/{name}/pause', controlCoupon),
  route('POST', '/api/users/{username}/coupons/{name}/resume', controlCoupon),
  route('POST', '/api/users/{username}/coupons/{name}/amount', controlCoupon),
  route('GET', '/api/users/{username}/coupons/{name}/stats', couponStats),
  route('GET', '/api/health', health),
  route('GET', '/api/openapi.json', openapi),
  route('GET', '/sale', salePage),
  route('GET', '/sale/{file}', salePage),
];

export interface Match {
  handler: HttpLambda;
  routeKey: string;
  pathParameters: Record<string, string> | undefined;
}

/** The route for a method and a raw (still percent-encoded) path, or undefined. */
export function matchRoute(method: string, rawPath: string): Match | undefined {
  for (const r of ROUTES) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(rawPath);
    if (!m) continue;
    try {
      const entries = r.params.map((p, i) => [p, decodeURIComponent(m[i + 1] ?? '')]);
      return {
        handler: r.handler,
        routeKey: r.key,
        pathParameters: entries.length ? Object.fromEntries(entries) : undefined,
      };
    } catch {
      // A malformed escape (`%zz`) cannot name a resource.
      return undefined;
    }
  }
  return undefined;
}
