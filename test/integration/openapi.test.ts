/**
 * GET /api/openapi.json serves an OpenAPI 3.1 document of every route, valid against the OpenAPI
 * specification's own schema. (Every answer of the contract suite is checked against it by the
 * test client: test/helpers/openapi-check.ts.)
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import document from '../../docs/openapi.json';
import { ROUTES } from '../../scripts/server/routes';
import { inProcessApi } from '../helpers/api';

test('the document is valid OpenAPI 3.1', async () => {
  const result = await new Validator().validate(document as unknown as Record<string, unknown>);
  expect(result.errors).toBeUndefined();
  expect(result.valid).toBe(true);
  expect(document.openapi).toBe('3.1.0');
});

test('it documents exactly the routes the API serves', () => {
  const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
  );
  expect(documented.sort()).toEqual(ROUTES.map((r) => r.key).sort());
});

test('GET /api/openapi.json serves it', async () => {
  const res = await inProcessApi().request('GET', '/api/openapi.json');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual(document);
});
