import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { BadRequest, type ExtraBody, PayloadTooLarge } from '../errors';
import { MAX_BODY_BYTES } from '../validation';

/** A header by name, whatever its case (API Gateway lowercases names; other callers may not). */
export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const wanted = name.toLowerCase();
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
