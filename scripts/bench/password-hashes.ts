/**
 * Compares the slow password hashes on this machine: scrypt at the project's cost (N = 2^15, r = 8,
 * p = 1) and argon2id at OWASP's recommended parameters (m = 19 MiB, t = 2, p = 1), through the same
 * async APIs the login path would use. For each: CPU time per verification, verifications per second
 * per core (1 / CPU time), throughput with 1, 2 and 4 in flight, the memory each verification holds,
 * and what 1,000 first logins cost on Lambda.
 *
 *   node scripts/run.mjs scripts/bench/password-hashes.ts [--seconds=5] [--json]
 *
 * Lambda gives a function CPU in proportion to its memory (one full vCPU at 1,769 MB), so below that
 * size a verification's billed duration is its CPU time x 1769 / memory, and its price does not depend
 * on the memory size chosen: CPU seconds x 1.769 GB x the GB-second price. The CPU of a Graviton core
 * differs from this machine's; the figures are this machine's CPU time.
 */
import { cpus } from 'node:os';
import { computeHash, computeVerify } from '../../lib/auth/passwords';
import type { PasswordHashSetting } from '../../lib/config';

const LAMBDA_ARM_PER_GB_SECOND = 0.0000133334;
const LAMBDA_PER_MILLION_REQUESTS = 0.2;
const FULL_VCPU_MB = 1769;
const LAMBDA_MEMORY_MB = 1024;

const seconds = Number(/--seconds=(\d+(?:\.\d+)?)/.exec(process.argv.join(' '))?.[1] ?? 5);
const asJson = process.argv.includes('--json');

interface Candidate {
  name: string;
  params: string;
  memoryMiB: number;
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
}

const SCRYPT: PasswordHashSetting = { algorithm: 'scrypt', logN: 15 };
const OWASP_ARGON2ID: PasswordHashSetting = { algorithm: 'argon2id', memoryKiB: 19_456, timeCost: 2, parallelism: 1 };

const candidates: Candidate[] = [
  {
    name: 'scrypt',
    params: 'N=2^15, r=8, p=1',
    memoryMiB: (128 * 2 ** 15 * 8) / 2 ** 20,
    hash: (p) => computeHash(p, SCRYPT),
    verify: computeVerify,
  },
  {
    name: 'argon2id',
    params: 'm=19 MiB, t=2, p=1',
    memoryMiB: 19_456 / 1024,
    hash: (p) => computeHash(p, OWASP_ARGON2ID),
    verify: computeVerify,
  },
];

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs `inFlight` verification loops for `seconds`; CPU time counts every thread of the process. */
async function measure(c: Candidate, stored: string, inFlight: number) {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < until) {
        if (!(await c.verify('correct horse', stored))) throw new Error(`${c.name} refused the right password`);
        done++;
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const cpu = cpuMs() - cpu0;
  return {
    inFlight,
    perSecond: (done * 1000) / wallMs,
    cpuMsEach: cpu / done,
    rssGrowthMiB: (rssPeak - rssBefore) / 2 ** 20,
  };
}

async function main() {
  const results = [];
  for (const c of candidates) {
    const stored = await c.hash('correct horse');
    await c.verify('correct horse', stored); // warm-up
    const runs = [];
    for (const inFlight of [1, 2, 4]) runs.push(await measure(c, stored, inFlight));
    const cpuMsEach = runs[0]?.cpuMsEach ?? Number.NaN;
    const lambdaSeconds = (cpuMsEach / 1000) * Math.max(1, FULL_VCPU_MB / LAMBDA_MEMORY_MB);
    const per1000 =
      1000 * lambdaSeconds * (LAMBDA_MEMORY_MB / 1024) * LAMBDA_ARM_PER_GB_SECOND +
      (1000 * LAMBDA_PER_MILLION_REQUESTS) / 1e6;
    results.push({
      name: c.name,
      params: c.params,
      memoryMiBEach: c.memoryMiB,
      cpuMsEach: Number(cpuMsEach.toFixed(1)),
      perSecondPerCore: Number((1000 / cpuMsEach).toFixed(1)),
      runs: runs.map((r) => ({
        inFlight: r.inFlight,
        perSecond: Number(r.perSecond.toFixed(1)),
        cpuMsEach: Number(r.cpuMsEach.toFixed(1)),
        rssGrowthMiB: Number(r.rssGrowthMiB.toFixed(1)),
      })),
      lambda: {
        memoryMb: LAMBDA_MEMORY_MB,
        billedMsEach: Number((lambdaSeconds * 1000).toFixed(1)),
        usdPer1000FirstLogins: Number(per1000.toFixed(5)),
        usdPerMillionFirstLogins: Number((per1000 * 1000).toFixed(2)),
      },
    });
  }
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, seconds };
  if (asJson) {
    console.log(JSON.stringify({ machine, results }, null, 2));
    return;
  }
  console.log(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${seconds} s per run`);
  console.log(
    `Lambda arm64 at ${LAMBDA_MEMORY_MB} MB, $${LAMBDA_ARM_PER_GB_SECOND} per GB-s + $${LAMBDA_PER_MILLION_REQUESTS} per million requests`,
  );
  for (const r of results) {
    console.log(`\n${r.name} (${r.params}): ${r.memoryMiBEach} MiB per verification`);
    console.log(`  CPU per verification ${r.cpuMsEach} ms -> ${r.perSecondPerCore} verifications/s per core`);
    for (const run of r.runs) {
      console.log(
        `  ${run.inFlight} in flight: ${run.perSecond}/s, ${run.cpuMsEach} ms CPU each, RSS +${run.rssGrowthMiB} MiB`,
      );
    }
    console.log(
      `  Lambda: ${r.lambda.billedMsEach} ms billed each, $${r.lambda.usdPer1000FirstLogins} per 1,000 first logins ($${r.lambda.usdPerMillionFirstLogins} per million)`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
