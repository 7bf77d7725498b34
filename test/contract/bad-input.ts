/**
 * Bad input of every shape, on every route (api.md, promise 6): each request must get a 4xx with a
 * string `errMsg` (the contract's exact one where it names one), never a 5xx, and must change no
 * data: every MySQL row and every Redis key is compared before and after each request.
 *
 * Two routes answer malformed requests without a 4xx by contract, and have their own lists here:
 * a grab of a coupon that cannot exist is `204 not-found`, and logout is always `200`.
 */
import type { ApiResponse, RawRequest } from '../helpers/api';
import {
  type ContractTarget,
  dataSnapshot,
  expectNoContent,
  forgedTokens,
  type TestUser,
  usernames,
} from './contract-suite';

export interface Fixture {
  seller: TestUser;
  customer: TestUser;
  otherCustomer: TestUser;
  /** A coupon of `seller` that `customer` holds; `otherCustomer` could still grab it. */
  coupon: string;
  /** A token of `customer` that was logged out. */
  revoked: string;
  /** Forged tokens (see `forgedTokens`) of the customer and of the seller. */
  forgedCustomer: Record<string, string>;
  forgedSeller: Record<string, string>;
  /** A username nobody has, new on every call. */
  fresh(): string;
}

export interface BadRequest extends RawRequest {
  method: string;
  /** URL-encoded path with optional query string. */
  path: string;
}

export interface BadCase {
  route: string;
  what: string;
  request(f: Fixture): BadRequest;
  /** The contract's status, or the statuses it allows. */
  status: number | number[];
  /** The contract's message, or the messages it allows; any string when undefined. */
  errMsg?: string | string[] | RegExp;
  /** Other keys the body must have, exactly (`kind` on login, `data` on listing). */
  extra?: Record<string, unknown>;
  /** Over 64 KB: over HTTP the server may also close the connection. */
  oversized?: boolean;
}

const PASSWORD = 'secret123';

const authHeader = (token: string | undefined): Record<string, string> =>
  token === undefined ? {} : { authorization: token };
const HUGE = 'x'.repeat(70 * 1024);

const SQL = "' OR 1=1 --";
const LUA = "]]..redis.call('FLUSHALL')..[[";

const REGISTER = 'POST /api/users';
const LOGIN = 'POST /api/auth';
const CREATE = 'POST /api/users/{username}/coupons';
const LIST = 'GET /api/users/{username}/coupons';
const GRAB = 'PATCH /api/users/{username}/coupons/{name}';

const USERNAME_MESSAGES = ['User name too short.', 'Invalid user name.'];
const PASSWORD_MESSAGES = ['Password too short.', 'Password too long.'];
const NAME_MESSAGES = ['Coupon name should not be empty.', 'Invalid coupon name.'];
const NOT_JSON = 'Only receive JSON format.';
const NOT_AUTHORIZED = 'Not Authorized.';

/** Bodies that are not a JSON object, as sent on the wire. */
const NOT_OBJECTS: [string, string][] = [
  ['empty body', ''],
  ['null', 'null'],
  ['empty array', '[]'],
  [
    'array of the right object',
    '[{"username":"a","password":"secret123","kind":"customer","name":"c","amount":1,"stock":1}]',
  ],
  ['number', '123'],
  ['string', '"hello"'],
  ['true', 'true'],
  ['unclosed object', '{'],
  ['single-quoted keys', "{'username':'a'}"],
  ['trailing comma', '{"username":"a",}'],
  ['NaN literal', '{"amount":NaN}'],
  ['deeply nested arrays', `${'['.repeat(20_000)}${']'.repeat(20_000)}`],
  ['form encoding', 'username=a&password=secret123'],
  ['two objects', '{}{}'],
  ['BOM then object', '\uFEFF{}'],
];

/** Usernames a registration must refuse: odd unicode, control characters, traversal, injection. */
const BAD_USERNAMES: [string, string][] = [
  ['lone high surrogate (escaped)', '"\\ud800"'],
  ['lone low surrogate (escaped)', '"ab\\udfff"'],
  ['emoji', '"😀"'],
  ['RTL override', '"\\u202eadmin"'],
  ['zero-width space', '"ad\\u200bmin"'],
  ['NUL', '"ad\\u0000min"'],
  ['DEL', '"admin\\u007f"'],
  ['C1 NEL', '"admin\\u0085"'],
  ['newline', '"admin\\n"'],
  ['Cyrillic lookalike', '"аdmin"'],
  ['fullwidth', '"ａｄｍｉｎ"'],
  ['path traversal', '"../../etc/passwd"'],
  ['backslash traversal', '"..\\\\..\\\\windows"'],
  ['encoded traversal', '"%2e%2e%2f"'],
  ['SQL', JSON.stringify(SQL)],
  ['Lua', JSON.stringify(LUA)],
  ['Redis hash tag', '"{user}"'],
  ['Redis glob', '"user*"'],
  ['33 characters', JSON.stringify('u'.repeat(33))],
  ['a dot', '"."'],
  ['two dots', '".."'],
  ['dots only', '"....."'],
  ['number', '123'],
  ['true', 'true'],
  ['array', '["admin"]'],
  ['object', '{"$ne":null}'],
];

function registerBody(f: Fixture, fields: { username?: string; password?: string; kind?: string }): string {
  const username = fields.username ?? JSON.stringify(f.fresh());
  const password = fields.password ?? JSON.stringify(PASSWORD);
  const kind = fields.kind ?? '"customer"';
  return `{"username":${username},"password":${password},"kind":${kind}}`;
}

const registerCases: BadCase[] = [
  ...NOT_OBJECTS.map(([what, body]) => ({
    route: REGISTER,
    what,
    request: () => ({ method: 'POST', path: '/api/users', body }),
    status: 400,
    errMsg: NOT_JSON,
  })),
  {
    route: REGISTER,
    what: 'body over 64 KB',
    request: (f: Fixture) => ({
      method: 'POST',
      path: '/api/users',
      body: { username: f.fresh(), password: PASSWORD, kind: 'customer', padding: HUGE },
    }),
    status: 413,
    oversized: true,
  },
  {
    route: REGISTER,
    what: 'non-JSON body over 64 KB',
    request: () => ({ method: 'POST', path: '/api/users', body: HUGE }),
    status: [400, 413],
    oversized: true,
  },
  ...BAD_USERNAMES.map(([what, username]) => ({
    route: REGISTER,
    what: `username: ${what}`,
    request: (f: Fixture) => ({ method: 'POST', path: '/api/users', body: registerBody(f, { username }) }),
    status: 400,
    errMsg: USERNAME_MESSAGES,
  })),
  ...(
    [
      ['null', 'null'],
      ['empty', '""'],
    ] as const
  ).map(([what, username]) => ({
    route: REGISTER,
    what: `username: ${what}`,
    request: (f: Fixture) => ({ method: 'POST', path: '/api/users', body: registerBody(f, { username }) }),
    status: 400,
    errMsg: 'User name too short.',
  })),
  ...(
    [
      ['number', '12345678'],
      ['null', 'null'],
      ['array', '["secret123"]'],
      ['object', '{"$gt":""}'],
      ['5 characters', '"12345"'],
      ['129 characters', JSON.stringify('p'.repeat(129))],
      ['lone surrogates only (escaped)', `"${'\\ud800'.repeat(8)}"`],
    ] as const
  ).map(([what, password]) => ({
    route: REGISTER,
    what: `password: ${what}`,
    request: (f: Fixture) => ({ method: 'POST', path: '/api/users', body: registerBody(f, { password }) }),
    status: 400,
    errMsg: PASSWORD_MESSAGES,
  })),
  ...(
    [
      ['empty', '""', 'Empty field of kind.'],
      ['admin', '"admin"', 'Unexpected value of kind, admin'],
      ['capitalised', '"Customer"', 'Unexpected value of kind, Customer'],
      ['trailing NUL', '"customer\\u0000"', 'Unexpected value of kind, customer\u0000'],
      ['zero-width joiner', '"sal\\u200der"', 'Unexpected value of kind, sal\u200der'],
      ['SQL', JSON.stringify(SQL), `Unexpected value of kind, ${SQL}`],
      ['Lua', JSON.stringify(LUA), `Unexpected value of kind, ${LUA}`],
      ['lone surrogate (escaped)', '"\\udc00"', 'Unexpected value of kind, \udc00'],
      ['number', '1', 'Unexpected value of kind, 1'],
      ['true', 'true', 'Unexpected value of kind, true'],
    ] as const
  ).map(([what, kind, errMsg]) => ({
    route: REGISTER,
    what: `kind: ${what}`,
    request: (f: Fixture) => ({ method: 'POST', path: '/api/users', body: registerBody(f, { kind }) }),
    status: 400,
    errMsg,
  })),
  ...(
    [
      ['array', '["customer"]'],
      ['object', '{"$ne":null}'],
      // Echoing the value once overflowed the call stack (a recursive JSON.stringify): 500.
      ['4,200 nested arrays', `${'['.repeat(4200)}${']'.repeat(4200)}`],
      ['4,200 nested objects', `${'{"k":'.repeat(4200)}1${'}'.repeat(4200)}`],
      ['an array of 10,000 numbers', `[${Array.from({ length: 10_000 }, () => '1').join(',')}]`],
    ] as const
  ).map(([what, kind]) => ({
    route: REGISTER,
    what: `kind: ${what}`,
    request: (f: Fixture) => ({ method: 'POST', path: '/api/users', body: registerBody(f, { kind }) }),
    status: 400,
    errMsg: /^Unexpected value of kind, /,
  })),
  {
    route: REGISTER,
    what: 'kind smuggled through __proto__',
    request: (f: Fixture) => ({
      method: 'POST',
      path: '/api/users',
      body: `{"username":${JSON.stringify(f.fresh())},"password":"secret123","__proto__":{"kind":"saler"}}`,
    }),
    status: 400,
    errMsg: 'Empty field of kind.',
  },
  {
    route: REGISTER,
    what: 'kind smuggled through constructor.prototype',
    request: (f: Fixture) => ({
      method: 'POST',
      path: '/api/users',
      body: `{"username":${JSON.stringify(f.fresh())},"password":"secret123","constructor":{"prototype":{"kind":"saler"}}}`,
    }),
    status: 400,
    errMsg: 'Empty field of kind.',
  },
  {
    route: REGISTER,
    what: 'the fixture customer again, as a seller',
    request: (f: Fixture) => ({
      method: 'POST',
      path: '/api/users',
      body: { username: f.customer.username, password: 'another-password', kind: 'saler' },
    }),
    status: 400,
    errMsg: 'Insert user failed. Maybe user name duplicates.',
  },
];

const LOGIN_FAILED = 'Invalid username or password.';

function loginCase(what: string, body: (f: Fixture) => unknown, status: number | number[], errMsg: string | string[]) {
  return {
    route: LOGIN,
    what,
    request: (f: Fixture) => ({ method: 'POST', path: '/api/auth', body: body(f) }),
    status,
    errMsg,
    extra: { kind: '' },
  };
}

const loginCases: BadCase[] = [
  ...NOT_OBJECTS.map(([what, body]) => loginCase(what, () => body, 400, NOT_JSON)),
  {
    route: LOGIN,
    what: 'body over 64 KB',
    request: (f: Fixture) => ({
      method: 'POST',
      path: '/api/auth',
      body: { username: f.customer.username, password: PASSWORD, padding: HUGE },
    }),
    status: 413,
    oversized: true,
  },
  loginCase('empty object', () => ({}), [400, 401], [NOT_JSON, LOGIN_FAILED]),
  loginCase('username: number', () => ({ username: 42, password: PASSWORD }), [400, 401], [NOT_JSON, LOGIN_FAILED]),
  loginCase(
    'username: object',
    () => ({ username: { $gt: '' }, password: PASSWORD }),
    [400, 401],
    [NOT_JSON, LOGIN_FAILED],
  ),
  loginCase(
    'username: array',
    (f) => ({ username: [f.customer.username], password: PASSWORD }),
    [400, 401],
    [NOT_JSON, LOGIN_FAILED],
  ),
  loginCase(
    'password: number',
    (f) => ({ username: f.customer.username, password: 123 }),
    [400, 401],
    [NOT_JSON, LOGIN_FAILED],
  ),
  loginCase(
    'password: object',
    (f) => ({ username: f.customer.username, password: { $ne: null } }),
    [400, 401],
    [NOT_JSON, LOGIN_FAILED],
  ),
  loginCase('username: SQL', () => ({ username: SQL, password: PASSWORD }), 401, LOGIN_FAILED),
  loginCase(
    'username: SQL comment after a real name',
    (f) => ({ username: `${f.customer.username}'--`, password: 'x' }),
    401,
    LOGIN_FAILED,
  ),
  loginCase('username: Lua', () => ({ username: LUA, password: PASSWORD }), 401, LOGIN_FAILED),
  loginCase('password: SQL', (f) => ({ username: f.customer.username, password: "' OR '1'='1" }), 401, LOGIN_FAILED),
  loginCase(
    'username: real name plus NUL',
    (f) => ({ username: `${f.customer.username}\u0000`, password: PASSWORD }),
    401,
    LOGIN_FAILED,
  ),
  loginCase(
    'username: real name plus trailing space',
    (f) => ({ username: `${f.customer.username} `, password: PASSWORD }),
    401,
    LOGIN_FAILED,
  ),
  loginCase(
    'username: real name upper-cased',
    (f) => ({ username: f.customer.username.toUpperCase(), password: PASSWORD }),
    401,
    LOGIN_FAILED,
  ),
  loginCase(
    'username: real name plus zero-width space',
    (f) => ({ username: `${f.customer.username}\u200b`, password: PASSWORD }),
    401,
    LOGIN_FAILED,
  ),
  loginCase(
    'username: path traversal',
    () => ({ username: '../../etc/passwd', password: PASSWORD }),
    401,
    LOGIN_FAILED,
  ),
  loginCase(
    'username: lone surrogate (escaped)',
    () => '{"username":"\\ud800","password":"secret123"}',
    401,
    LOGIN_FAILED,
  ),
  loginCase(
    'password: over 128 characters',
    (f) => ({ username: f.customer.username, password: 'p'.repeat(5000) }),
    [400, 401],
    [...PASSWORD_MESSAGES, LOGIN_FAILED],
  ),
];

function createCase(
  what: string,
  body: (f: Fixture) => unknown,
  errMsg: string | string[] | RegExp,
  options: Partial<BadCase> = {},
): BadCase {
  return {
    route: CREATE,
    what,
    request: (f) => ({
      method: 'POST',
      path: `/api/users/${f.seller.username}/coupons`,
      headers: { authorization: f.seller.token },
      body: body(f),
    }),
    status: 400,
    errMsg,
    ...options,
  };
}

/** A coupon that would be valid, with one field replaced (raw JSON text of the field). */
function couponWith(f: Fixture, field: 'name' | 'amount' | 'stock' | 'description', raw: string | undefined): string {
  const fields: Record<string, string | undefined> = {
    name: JSON.stringify(`bad-${f.fresh()}`),
    amount: '1',
    stock: '1',
    description: '"d"',
    [field]: raw,
  };
  const members = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `"${k}":${v}`);
  return `{${members.join(',')}}`;
}

const BAD_NAMES: [string, string][] = [
  ['null', 'null'],
  ['number', '7'],
  ['true', 'true'],
  ['array', '["c1"]'],
  ['object', '{"$ne":null}'],
  ['61 characters', JSON.stringify('n'.repeat(61))],
  ['61 emoji', JSON.stringify('😀'.repeat(61))],
  ['slash', '"a/b"'],
  ['path traversal', '"../../etc/passwd"'],
  ['escaped slash', '"..\\/..\\/x"'],
  ['NUL', '"\\u0000"'],
  ['C0 unit separator', '"a\\u001f"'],
  ['DEL', '"a\\u007f"'],
  ['C1 first', '"a\\u0080"'],
  ['C1 NEL', '"a\\u0085"'],
  ['C1 last', '"a\\u009f"'],
  ['newline', '"line\\nbreak"'],
  ['carriage return', '"cr\\r"'],
  ['tab', '"tab\\t"'],
  ['lone high surrogate (escaped)', '"\\ud800"'],
  ['lone low surrogate (escaped)', '"coupon\\udc00"'],
  ['reversed surrogate pair (escaped)', '"\\ude00\\ud83d"'],
  ['SQL with a slash', `"${SQL}/"`],
  ['Lua with a newline', `${JSON.stringify(LUA).slice(0, -1)}\\n"`],
  ['a dot', '"."'],
  ['two dots', '".."'],
  ['three dots', '"..."'],
  ['right-to-left override (Cf)', '"\\u202eevil\\u202c"'],
  ['zero-width space (Cf)', '"zero\\u200bwidth"'],
  ['zero-width joiner (Cf)', '"a\\u200db"'],
  ['byte order mark (Cf)', '"\\ufeffbom"'],
  ['soft hyphen (Cf)', '"soft\\u00adhyphen"'],
];

const BAD_AMOUNTS: [string, string | undefined][] = [
  ['missing', undefined],
  ['null', 'null'],
  ['0', '0'],
  ['-1', '-1'],
  ['1,000,001', '1000001'],
  ['float', '1.5'],
  ['tiny float', '0.0001'],
  ['float string', '"1.5"'],
  ['negative string', '"-1"'],
  ['exponent string', '"1e3"'],
  ['padded string', '" 5"'],
  ['plus string', '"+5"'],
  ['hex string', '"0x10"'],
  ['empty string', '""'],
  ['11 digits', '"99999999999"'],
  ['Arabic-Indic digits', '"١٢"'],
  ['fullwidth digit', '"５"'],
  ['1e400', '1e400'],
  ['2^53 + 1', '9007199254740993'],
  ['true', 'true'],
  ['array', '[5]'],
  ['object', '{"$gt":0}'],
  ['SQL', JSON.stringify(`1${SQL}`)],
];

const BAD_STOCKS: [string, string | undefined][] = [
  ['missing', undefined],
  ['null', 'null'],
  ['-1', '-1'],
  ['1,000,000,001', '1000000001'],
  ['float', '2.5'],
  ['float string', '"2.5"'],
  ['letters', '"abc"'],
  ['Lua', JSON.stringify(LUA)],
  ['object', '{}'],
  ['array', '[]'],
];

const BAD_DESCRIPTIONS: [string, string][] = [
  ['256 characters', JSON.stringify('d'.repeat(256))],
  ['256 emoji', JSON.stringify('🎟'.repeat(256))],
  ['number', '42'],
  ['object', '{"text":"x"}'],
  ['array', '["x"]'],
  ['true', 'true'],
  ['lone surrogate (escaped)', '"\\udbff"'],
];

const createCases: BadCase[] = [
  ...NOT_OBJECTS.map(([what, body]) => createCase(what, () => body, NOT_JSON)),
  createCase('body over 64 KB', (f) => ({ name: `big-${f.fresh()}`, amount: 1, stock: 1, description: HUGE }), /./, {
    status: 413,
    oversized: true,
  }),
  createCase('name: missing', (f) => couponWith(f, 'name', undefined), 'Coupon name should not be empty.'),
  createCase('name: empty', (f) => couponWith(f, 'name', '""'), 'Coupon name should not be empty.'),
  ...BAD_NAMES.map(([what, raw]) => createCase(`name: ${what}`, (f) => couponWith(f, 'name', raw), NAME_MESSAGES)),
  ...BAD_AMOUNTS.map(([what, raw]) =>
    createCase(`amount: ${what}`, (f) => couponWith(f, 'amount', raw), 'Amount field wrong format.'),
  ),
  ...BAD_STOCKS.map(([what, raw]) =>
    createCase(`stock: ${what}`, (f) => couponWith(f, 'stock', raw), 'Stock field wrong format.'),
  ),
  ...BAD_DESCRIPTIONS.map(([what, raw]) =>
    createCase(`description: ${what}`, (f) => couponWith(f, 'description', raw), 'Description too long.'),
  ),
  createCase(
    'the fixture coupon again',
    (f) => ({ name: f.coupon, amount: 1, stock: 1 }),
    'Create failed. Maybe (username,coupon name) duplicates',
  ),
];

/** Create requests refused for who is asking, each with a body that would otherwise be valid. */
function createAs(
  what: string,
  auth: (f: Fixture) => string | undefined,
  errMsg: string,
  path: (f: Fixture) => string = (f) => f.seller.username,
): BadCase {
  return {
    route: CREATE,
    what,
    request: (f) => {
      const token = auth(f);
      return {
        method: 'POST',
        path: `/api/users/${path(f)}/coupons`,
        headers: authHeader(token),
        body: { name: `bad-${f.fresh()}`, amount: 1, stock: 1 },
      };
    },
    status: 401,
    errMsg,
  };
}

const FORGED_KINDS = [
  'garbage',
  'alg none',
  'payload changed (kind)',
  'payload changed (sub)',
  'signature stripped',
  'other secret',
  'HS512 instead of HS256',
  'expired',
  'claims: sub of 40 characters',
  'claims: sub with a space',
  'claims: sub in odd unicode',
  'claims: empty sub',
  'claims: sub of dots',
  'claims: kind admin',
] as const;

const forged = (f: Record<string, string>, kind: (typeof FORGED_KINDS)[number]) => f[kind] ?? 'missing forged token';

const createAuthCases: BadCase[] = [
  createAs('no token', () => undefined, NOT_AUTHORIZED),
  createAs('revoked token', (f) => f.revoked, NOT_AUTHORIZED),
  createAs('SQL as token', () => SQL, NOT_AUTHORIZED),
  createAs('Bearer and SQL', () => `Bearer ${SQL}`, NOT_AUTHORIZED),
  createAs('4 KB garbage token', () => `Bearer ${'A'.repeat(4096)}`, NOT_AUTHORIZED),
  ...FORGED_KINDS.map((k) => createAs(`seller token: ${k}`, (f) => forged(f.forgedSeller, k), NOT_AUTHORIZED)),
  createAs(
    'customer token made to say saler',
    (f) => forged(f.forgedCustomer, 'payload changed (kind)'),
    NOT_AUTHORIZED,
  ),
  createAs('customer token', (f) => f.customer.token, 'Only sellers can create coupons.'),
  createAs(
    'for another user',
    (f) => f.seller.token,
    'Cannot create coupons for other users.',
    (f) => f.customer.username,
  ),
  createAs(
    'path traversal in username',
    (f) => f.seller.token,
    'Cannot create coupons for other users.',
    (f) => `..%2F${f.seller.username}`,
  ),
  createAs(
    'encoded dots and slash',
    (f) => f.seller.token,
    'Cannot create coupons for other users.',
    () => '%2e%2e%2f%2e%2e',
  ),
  createAs(
    'SQL in username',
    (f) => f.seller.token,
    'Cannot create coupons for other users.',
    () => encodeURIComponent(SQL),
  ),
  createAs(
    'Lua in username',
    (f) => f.seller.token,
    'Cannot create coupons for other users.',
    () => encodeURIComponent(LUA),
  ),
  createAs(
    'seller name plus NUL',
    (f) => f.seller.token,
    'Cannot create coupons for other users.',
    (f) => `${f.seller.username}%00`,
  ),
  createAs(
    'seller name plus space',
    (f) => f.seller.token,
    'Cannot create coupons for other users.',
    (f) => `${f.seller.username}%20`,
  ),
];

function listCase(
  what: string,
  target: (f: Fixture) => string,
  status: number,
  errMsg: string,
  auth: (f: Fixture) => string | undefined = (f) => f.customer.token,
  extra?: Record<string, unknown>,
): BadCase {
  return {
    route: LIST,
    what,
    request: (f) => {
      const token = auth(f);
      return { method: 'GET', path: target(f), headers: authHeader(token) };
    },
    status,
    errMsg,
    extra,
  };
}

const sellerPage = (page: string) => (f: Fixture) => `/api/users/${f.seller.username}/coupons?page=${page}`;
const listOf = (encodedUser: string) => () => `/api/users/${encodedUser}/coupons`;

const listCases: BadCase[] = [
  ...(
    [
      ['letters', 'abc'],
      ['float', '1.5'],
      ['exponent', '1e2'],
      ['hex', '0x1'],
      ['plus sign', '%2B1'],
      ['leading space', '%201'],
      ['comma list', '1%2C2'],
      ['Infinity', 'Infinity'],
      ['fullwidth digit', '%EF%BC%91'],
      ['Arabic-Indic digit', '%D9%A1'],
      ['NUL', '%00'],
      ['digit and NUL', '1%00'],
      ['invalid UTF-8', '%FF'],
      ['lone surrogate as CESU-8', '%ED%A0%80'],
      ['SQL', encodeURIComponent(`1${SQL}`)],
      ['Lua', encodeURIComponent(LUA)],
      ['path traversal', '..%2F..%2Fetc%2Fpasswd'],
      ['huge non-number', 'z'.repeat(2000)],
    ] as const
  ).map(([what, page]) => listCase(`page: ${what}`, sellerPage(page), 400, 'Wrong format of page.')),
  ...(
    [
      ['no such user', 'nobody_at_all'],
      ['encoded traversal', '..%2F..%2Fetc%2Fpasswd'],
      ['encoded dots and slash', '%2e%2e%2f'],
      ['double-encoded dots', '%252e%252e'],
      ['backslash traversal', '..%5C..%5Cwindows'],
      ['SQL', encodeURIComponent(SQL)],
      ['Lua', encodeURIComponent(LUA)],
      ['Redis glob', '*'],
      ['Redis hash tag', '%7Bx%7D'],
      ['NUL', '%00'],
      ['emoji', encodeURIComponent('😀')],
      ['RTL override', encodeURIComponent('\u202eadmin')],
      ['zero-width space', encodeURIComponent('ad\u200bmin')],
      ['C1 control', '%C2%85'],
    ] as const
  ).map(([what, user]) => listCase(`username: ${what}`, listOf(user), 400, 'Record not found.')),
  listCase(
    'seller name upper-cased',
    (f) => `/api/users/${f.seller.username.toUpperCase()}/coupons`,
    400,
    'Record not found.',
  ),
  listCase(
    'seller name plus encoded space',
    (f) => `/api/users/${f.seller.username}%20/coupons`,
    400,
    'Record not found.',
  ),
  listCase('seller name plus NUL', (f) => `/api/users/${f.seller.username}%00/coupons`, 400, 'Record not found.'),
  listCase(
    'another customer',
    (f) => `/api/users/${f.otherCustomer.username}/coupons`,
    401,
    'Cannot check other customer.',
    undefined,
    {
      data: [],
    },
  ),
  listCase(
    'another customer, by a seller',
    (f) => `/api/users/${f.customer.username}/coupons`,
    401,
    'Cannot check other customer.',
    (f) => f.seller.token,
    {
      data: [],
    },
  ),
  listCase(
    'own list, no token',
    (f) => `/api/users/${f.customer.username}/coupons`,
    401,
    NOT_AUTHORIZED,
    () => undefined,
  ),
  listCase(
    'own list, revoked token',
    (f) => `/api/users/${f.customer.username}/coupons`,
    401,
    NOT_AUTHORIZED,
    (f) => f.revoked,
  ),
  ...FORGED_KINDS.map((k) =>
    listCase(
      `own list, customer token: ${k}`,
      (f) => `/api/users/${f.customer.username}/coupons`,
      401,
      NOT_AUTHORIZED,
      (f) => forged(f.forgedCustomer, k),
    ),
  ),
  listCase('seller list, SQL as token', sellerPage('1'), 401, NOT_AUTHORIZED, () => SQL),
];

function grabCase(
  what: string,
  auth: (f: Fixture) => string | undefined,
  errMsg: string,
  target: (f: Fixture) => string = (f) => `${f.seller.username}/coupons/${encodeURIComponent(f.coupon)}`,
): BadCase {
  return {
    route: GRAB,
    what,
    request: (f) => {
      const token = auth(f);
      return {
        method: 'PATCH',
        path: `/api/users/${target(f)}`,
        headers: authHeader(token),
      };
    },
    status: 401,
    errMsg,
  };
}

const SELLERS_REFUSED = "Sellers aren't allowed to get coupons.";

const grabCases: BadCase[] = [
  grabCase('no token', () => undefined, NOT_AUTHORIZED),
  grabCase('empty token', () => '', NOT_AUTHORIZED),
  grabCase('revoked token', (f) => f.revoked, NOT_AUTHORIZED),
  grabCase('Bearer and Lua', () => `Bearer ${LUA}`, NOT_AUTHORIZED),
  ...FORGED_KINDS.map((k) =>
    grabCase(`other customer's token: ${k}`, (f) => forged(f.forgedCustomer, k), NOT_AUTHORIZED),
  ),
  grabCase('seller token', (f) => f.seller.token, SELLERS_REFUSED),
  grabCase(
    'seller token, traversal in name',
    (f) => f.seller.token,
    SELLERS_REFUSED,
    (f) => `${f.seller.username}/coupons/..%2F..%2Fetc%2Fpasswd`,
  ),
  grabCase(
    'seller token, SQL in both',
    (f) => f.seller.token,
    SELLERS_REFUSED,
    () => `${encodeURIComponent(SQL)}/coupons/${encodeURIComponent(SQL)}`,
  ),
  grabCase(
    'no token, Lua in name',
    () => undefined,
    NOT_AUTHORIZED,
    (f) => `${f.seller.username}/coupons/${encodeURIComponent(LUA)}`,
  ),
];

/**
 * Paths whose percent-encoding is not UTF-8. Over HTTP a router may refuse them before any handler
 * runs (serverless-offline answers its own 400, without `errMsg`), so only the promise that holds
 * whoever answers is checked: a 4xx, never a 5xx, nothing changed. Not in process: the in-process
 * router decodes path parameters with `decodeURIComponent`, which throws on them.
 */
export const UNDECODABLE_PATHS: [string, (f: Fixture) => BadRequest][] = [
  [
    'list, invalid UTF-8 user',
    (f) => ({ method: 'GET', path: '/api/users/%FF/coupons', headers: authHeader(f.customer.token) }),
  ],
  [
    'list, lone surrogate as CESU-8',
    (f) => ({ method: 'GET', path: '/api/users/%ED%A0%80/coupons', headers: authHeader(f.customer.token) }),
  ],
  [
    'create, overlong UTF-8 dots',
    (f) => ({
      method: 'POST',
      path: '/api/users/%C0%AE%C0%AE/coupons',
      headers: authHeader(f.seller.token),
      body: { name: `bad-${f.fresh()}`, amount: 1, stock: 1 },
    }),
  ],
  [
    'grab, invalid UTF-8 name',
    (f) => ({
      method: 'PATCH',
      path: `/api/users/${f.seller.username}/coupons/%FF%FE`,
      headers: authHeader(f.otherCustomer.token),
    }),
  ],
  [
    'grab, lone surrogate in seller',
    (f) => ({ method: 'PATCH', path: '/api/users/%ED%B0%80/coupons/c1', headers: authHeader(f.otherCustomer.token) }),
  ],
];

/** Every request of the corpus must be refused with a 4xx. */
export const BAD_INPUT: BadCase[] = [
  ...registerCases,
  ...loginCases,
  ...createCases,
  ...createAuthCases,
  ...listCases,
  ...grabCases,
];

/**
 * Grabs by the fixture's other customer (who could still grab the fixture coupon) of coupons that
 * cannot exist: by contract a `204 not-found`, and nothing taken.
 */
export const ABSENT_COUPON_PROBES: [string, (f: Fixture) => string][] = [
  ['encoded traversal in name', (f) => `${f.seller.username}/coupons/..%2F..%2Fetc%2Fpasswd`],
  [
    'encoded traversal to the real coupon',
    (f) => `${f.seller.username}/coupons/x%2F..%2F${encodeURIComponent(f.coupon)}`,
  ],
  ['encoded dots and slash', (f) => `${f.seller.username}/coupons/%2e%2e%2f`],
  ['backslash traversal', (f) => `${f.seller.username}/coupons/..%5C..%5Cwindows`],
  ['SQL in name', (f) => `${f.seller.username}/coupons/${encodeURIComponent(`${f.coupon}${SQL}`)}`],
  [
    'SQL in seller',
    (f) => `${encodeURIComponent(`${f.seller.username}${SQL}`)}/coupons/${encodeURIComponent(f.coupon)}`,
  ],
  ['Lua in name', (f) => `${f.seller.username}/coupons/${encodeURIComponent(LUA)}`],
  ['Redis glob in name', (f) => `${f.seller.username}/coupons/*`],
  ['Redis hash tag in seller', (f) => `%7B${f.seller.username}%7D/coupons/${encodeURIComponent(f.coupon)}`],
  ['NUL after the name', (f) => `${f.seller.username}/coupons/${encodeURIComponent(f.coupon)}%00`],
  ['DEL in name', (f) => `${f.seller.username}/coupons/a%7F`],
  ['C1 in name', (f) => `${f.seller.username}/coupons/a%C2%85`],
  ['61-character name', (f) => `${f.seller.username}/coupons/${'n'.repeat(61)}`],
  ['zero-width space after the name', (f) => `${f.seller.username}/coupons/${encodeURIComponent(`${f.coupon}\u200b`)}`],
  ['name upper-cased', (f) => `${f.seller.username}/coupons/${encodeURIComponent(f.coupon.toUpperCase())}`],
  ['traversal in seller', (f) => `..%2F${f.seller.username}/coupons/${encodeURIComponent(f.coupon)}`],
];

/** Logout is always `200 log out.`, whatever it is sent; none of these revokes anything. */
export const LOGOUT_PROBES: [string, (f: Fixture) => RawRequest][] = [
  ['no token', () => ({})],
  ['garbage token', () => ({ headers: { authorization: 'garbage' } })],
  ['SQL token', () => ({ headers: { authorization: SQL } })],
  ['alg none', (f) => ({ headers: { authorization: forged(f.forgedCustomer, 'alg none') } })],
  ['other secret', (f) => ({ headers: { authorization: forged(f.forgedCustomer, 'other secret') } })],
  ['expired', (f) => ({ headers: { authorization: forged(f.forgedCustomer, 'expired') } })],
  ['payload changed', (f) => ({ headers: { authorization: forged(f.forgedCustomer, 'payload changed (sub)') } })],
  ['already revoked', (f) => ({ headers: { authorization: f.revoked } })],
  ['non-JSON body', () => ({ body: "]]..redis.call('FLUSHALL')..[[" })],
  ['array body', () => ({ body: [1, 2, 3] })],
];

async function send(
  target: ContractTarget,
  r: BadRequest,
  oversized: boolean | undefined,
): Promise<ApiResponse | 'closed'> {
  try {
    return await target.client().api.request(r.method, r.path, { headers: r.headers, body: r.body });
  } catch (e: unknown) {
    // A server may close the connection on an oversized request; the in-process handler may not.
    if (oversized && target.transport === 'http') return 'closed';
    throw e;
  }
}

export function describeBadInput(label: string, setup: () => ContractTarget): void {
  describe(`bad input (${label})`, () => {
    const target = setup();
    const c = () => target.client();
    const nextName = usernames('bi');
    let fixture: Fixture;

    beforeAll(async () => {
      const user = async (kind: 'customer' | 'saler') => {
        const username = nextName();
        return { username, token: await c().user(username, kind, PASSWORD) };
      };
      const seller = await user('saler');
      const customer = await user('customer');
      const otherCustomer = await user('customer');
      const coupon = `bi ${nextName()}`;
      const created = await c().createCoupon(seller.token, seller.username, {
        name: coupon,
        amount: 10,
        stock: 3,
        description: 'fixture',
      });
      if (created.status !== 201) throw new Error(`fixture coupon: ${created.status} ${created.text}`);
      const grabbed = await c().grab(customer.token, seller.username, coupon);
      if (grabbed.status !== 201) throw new Error(`fixture grab: ${grabbed.status} ${grabbed.text}`);
      const revoked = (await c().login(customer.username, PASSWORD)).headers.authorization ?? '';
      await c().logout(revoked);
      fixture = {
        seller,
        customer,
        otherCustomer,
        coupon,
        revoked,
        forgedCustomer: await forgedTokens(otherCustomer.token),
        forgedSeller: await forgedTokens(seller.token),
        fresh: nextName,
      };
      // Nothing may be in flight while the data is compared.
      await target.stack().drain();
    });

    test('the corpus holds at least 100 requests refused with a 4xx, on every route', () => {
      expect(BAD_INPUT.length).toBeGreaterThanOrEqual(100);
      expect(new Set(BAD_INPUT.map((b) => b.route))).toEqual(new Set([REGISTER, LOGIN, CREATE, LIST, GRAB]));
      expect(new Set(BAD_INPUT.map((b) => `${b.route} ${b.what}`)).size).toBe(BAD_INPUT.length);
    });

    test.each(BAD_INPUT)('$route — $what: 4xx with errMsg, no data changed', async (bad) => {
      const before = await dataSnapshot(target.stack());
      const res = await send(target, bad.request(fixture), bad.oversized);
      if (res !== 'closed') {
        const statuses = Array.isArray(bad.status) ? bad.status : [bad.status];
        expect(statuses).toContain(res.status);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(typeof res.body?.errMsg).toBe('string');
        const { errMsg, ...extra } = res.body as Record<string, unknown>;
        if (typeof bad.errMsg === 'string') expect(errMsg).toBe(bad.errMsg);
        else if (Array.isArray(bad.errMsg)) expect(bad.errMsg).toContain(errMsg);
        else if (bad.errMsg) expect(errMsg).toMatch(bad.errMsg);
        if (bad.extra) expect(extra).toEqual(bad.extra);
      }
      expect(await dataSnapshot(target.stack())).toEqual(before);
    });

    test.each(ABSENT_COUPON_PROBES)(
      'grab of a coupon that cannot exist — %s: 204 not-found, nothing taken',
      async (_, path) => {
        const before = await dataSnapshot(target.stack());
        const res = await c().api.request('PATCH', `/api/users/${path(fixture)}`, {
          headers: { authorization: fixture.otherCustomer.token },
        });
        expectNoContent(res, 'not-found');
        expect(await dataSnapshot(target.stack())).toEqual(before);
      },
    );

    if (target.transport === 'http') {
      test.each(UNDECODABLE_PATHS)('%s: a 4xx, nothing changed', async (_, request) => {
        const before = await dataSnapshot(target.stack());
        const r = request(fixture);
        const res = await c().api.request(r.method, r.path, { headers: r.headers, body: r.body });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(await dataSnapshot(target.stack())).toEqual(before);
      });
    }

    test.each(LOGOUT_PROBES)('logout with %s: 200 "log out.", nothing revoked', async (_, request) => {
      const before = await dataSnapshot(target.stack());
      const res = await c().api.request('POST', '/api/auth/logout', request(fixture));
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { errMsg: 'log out.' } });
      expect(await dataSnapshot(target.stack())).toEqual(before);
    });

    test('after the whole corpus the fixture still works: its tokens, its coupon, its holdings', async () => {
      const f = fixture;
      expect((await c().list(f.customer.token, f.customer.username)).body?.data).toEqual([
        { name: f.coupon, seller: f.seller.username, stock: 3, description: 'fixture' },
      ]);
      expect((await c().list(f.otherCustomer.token, f.seller.username)).body?.data).toEqual([
        { name: f.coupon, amount: 10, left: 9, stock: 3, description: 'fixture' },
      ]);
      expect((await c().grab(f.otherCustomer.token, f.seller.username, f.coupon)).status).toBe(201);
      expect((await c().list(f.revoked, f.customer.username)).status).toBe(401);
    });
  });
}
