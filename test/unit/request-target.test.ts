/** How `npm start` splits a request target: never `new URL()`, which throws on `//` or reads it as a host. */
import { splitTarget } from '../../scripts/server/node-server';

test.each([
  ['/api/health', { path: '/api/health', query: '' }],
  ['/api/users/a/coupons?page=2', { path: '/api/users/a/coupons', query: 'page=2' }],
  ['//', { path: '//', query: '' }],
  ['/\\', { path: '/\\', query: '' }],
  ['//a:b', { path: '//a:b', query: '' }],
  ['//evil.example/api/health?x', { path: '//evil.example/api/health', query: 'x' }],
  ['/%FF?%FF', { path: '/%FF', query: '%FF' }],
  ['/?', { path: '/', query: '' }],
])('%j is a path (and a query)', (target, expected) => {
  expect(splitTarget(target)).toEqual(expected);
});

test.each(['*', 'http://evil.example/api/health', '', 'api/health'])('%j is not an origin-form target', (target) => {
  expect(splitTarget(target)).toBeUndefined();
});
