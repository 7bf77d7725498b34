/**
 * GET /api/openapi.json: the OpenAPI 3.1 description of every route (docs/openapi.json, bundled).
 * A document, not an answer: like the live page, it carries no `errMsg` (an OpenAPI document may
 * have no other top-level keys). The text is built once per container.
 */
import document from '../docs/openapi.json';
import { httpHandler } from '../lib/http/handler';

const body = JSON.stringify(document);

export const handler = httpHandler(async () => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
  body,
}));
