import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { BadRequest, type ExtraBody, PayloadTooLarge } from '../errors';
import { MAX_BODY_BYTES } from '../validation';

/** A header by name, whatever its case (API Gateway lowercases names; other callers may not). */
export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const wanted = name.toLowerCase();
  const exact = event.headers?.[wanted];
  if (exact !== undefined) return exact;
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** The request body as a JSON object; anything else is the contract's "Only receive JSON format." */
export function jsonBody(event: APIGatewayProxyEventV2, extra?: ExtraBody): Record<string, unknown> {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new PayloadTooLarge();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequest('Only receive JSON format.', extra);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadRequest('Only receive JSON format.', extra);
  }
  return value as Record<string, unknown>;
}

/**
 * The client's address: API Gateway's `requestContext.http.sourceIp` on AWS, the socket's peer
 * address under `npm start` and serverless-offline (which put it there too). An IPv4 address
 * mapped into IPv6 (`::ffff:10.0.0.1`, as a dual-stack socket reports it) is given as IPv4.
 */
export function clientAddress(event: APIGatewayProxyEventV2): string {
  const ip = event.requestContext?.http?.sourceIp ?? '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** Loopback addresses (127.0.0.0/8, ::1): every local client has one. */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}
