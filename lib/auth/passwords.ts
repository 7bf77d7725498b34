/**
 * Salted slow password hashes. New hashes are argon2id (PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash`,
 * OWASP's parameters by default) or, when configured, scrypt (`scrypt$<logN>$<r>$<p>$<salt b64>$<hash b64>`).
 * Both kinds verify, whatever the setting; `needsRehash` tells a login when a stored hash is of
 * another kind or cheaper than the setting, so it is replaced at the next successful login.
 * The choice and its figures: docs/PERFORMANCE.md, "Password hashing".
 *
 * Every computation runs in the process's hash lane (bounded concurrency, lib/auth/hash-lane.ts):
 * past it, `ServerBusy`.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { config, type PasswordHashSetting } from '../config';
import { HashLane } from './hash-lane';

const R = 8;
const P = 1;
const KEY_LENGTH = 32;
/** `Algorithm.Argon2id` of @node-rs/argon2 (an ambient const enum, which isolated builds cannot inline). */
const ARGON2ID = 2;

let lane: HashLane | undefined;

/** The process's hash lane, sized by the configuration. */
export function hashLane(): HashLane {
  const { hashConcurrency, hashQueue, hashMaxWaitMs } = config().auth;
  lane ??= new HashLane({ concurrency: hashConcurrency, queue: hashQueue, maxWaitMs: hashMaxWaitMs });
  return lane;
}

function deriveScrypt(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    // maxmem must cover 128 * N * r bytes, plus headroom.
    scrypt(password, salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Outside the lane: for measurements and the decoy. */
export async function computeHash(password: string, setting: PasswordHashSetting): Promise<string> {
  if (setting.algorithm === 'argon2id') {
    return argon2Hash(password, {
      algorithm: ARGON2ID,
      memoryCost: setting.memoryKiB,
      timeCost: setting.timeCost,
      parallelism: setting.parallelism,
      outputLen: KEY_LENGTH,
    });
  }
  const salt = randomBytes(16);
  const key = await deriveScrypt(password, salt, setting.logN, R, P);
  return ['scrypt', setting.logN, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Outside the lane: for measurements. */
export async function computeVerify(password: string, stored: string): Promise<boolean> {
  if (stored.startsWith('$argon2id$')) {
    try {
      return await argon2Verify(stored, password);
    } catch {
      return false; // malformed stored value
    }
  }
  const [scheme, logN, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !logN || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await deriveScrypt(password, Buffer.from(salt, 'base64'), Number(logN), Number(r), Number(p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A new salted hash with the configured setting (or `setting`). Throws `ServerBusy` past the lane. */
export function hashPassword(password: string, setting = config().auth.passwordHash): Promise<string> {
  return hashLane().run(() => computeHash(password, setting));
}

/** Throws `ServerBusy` past the lane. */
export function verifyPassword(password: string, stored: string): Promise<boolean> {
  return hashLane().run(() => computeVerify(password, stored));
}

/** A new hash for a rehash: only when a lane is free right now (a rehash can wait for a later login). */
export function rehashIfIdle(password: string, setting = config().auth.passwordHash): Promise<string | undefined> {
  return hashLane().runIfIdle(() => computeHash(password, setting));
}

/** Whether `stored` is of another kind than `setting`, or cheaper: replace it at the next login. */
export function needsRehash(stored: string, setting = config().auth.passwordHash): boolean {
  if (setting.algorithm === 'argon2id') {
    const params = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
    if (!params) return true;
    return Number(params[1]) < setting.memoryKiB || Number(params[2]) < setting.timeCost;
  }
  const [scheme, logN] = stored.split('$');
  return scheme !== 'scrypt' || Number(logN) < setting.logN;
}

const decoys = new Map<string, Promise<string>>();

/**
 * Spends the time of one verification (in the lane, like a real one), so an unknown user cannot be
 * told from a wrong password. The decoy hash is made once per setting, outside the lane.
 */
export async function spendVerificationTime(password: string, setting = config().auth.passwordHash): Promise<void> {
  const key = JSON.stringify(setting);
  let decoy = decoys.get(key);
  if (!decoy) {
    decoy = computeHash('decoy-password', setting);
    decoys.set(key, decoy);
    decoy.catch(() => decoys.delete(key));
  }
  const stored = await decoy;
  await verifyPassword(password, stored);
}
