// Kubernetes-style resource quantities ("250m" CPU, "128Mi" memory) parsed into cores and bytes.
import * as v from 'valibot';

const CPU_FORMS = 'cores ("0.5", "2", 2) or millicores ("250m"), at least 1m';
const MEMORY_FORMS =
  'whole bytes (1048576) or a number with a suffix Ki, Mi, Gi, Ti (binary) or k, M, G, T (decimal), e.g. "128Mi", "500M"';

// Kubernetes accepts "5.", ".5" and "5.5"; we accept the same, without signs or exponents.
const CPU_RE = /^(\d+\.?\d*|\.\d+)(m?)$/;
const MEMORY_RE = /^(\d+)?(?:\.(\d*))?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

const MEMORY_MULTIPLIERS: Record<string, bigint> = {
  '': 1n,
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
  k: 1000n,
  M: 1000n ** 2n,
  G: 1000n ** 3n,
  T: 1000n ** 4n,
};

const show = (q: unknown): string => (typeof q === 'string' ? `'${q}'` : String(q));

/** CPU quantity in cores: "50m" → 0.05, "0.5" → 0.5, 2 → 2. Throws on anything else. */
export function parseCpu(q: string | number): number {
  const bad = (why = ''): Error =>
    new Error(`invalid CPU quantity ${show(q)}${why}: expected ${CPU_FORMS}`);
  let cores: number;
  if (typeof q === 'number') {
    cores = q;
  } else if (typeof q === 'string') {
    const m = CPU_RE.exec(q);
    if (!m) throw bad();
    cores = m[2] === 'm' ? Number(m[1]) / 1000 : Number(m[1]);
  } else {
    throw bad();
  }
  if (!Number.isFinite(cores) || cores <= 0) throw bad(' (must be greater than 0)');
  // Below one millicore the engine's CPU quota rounds to nothing; Kubernetes refuses it too.
  if (cores < 0.001) throw bad(' (smaller than 1m)');
  return cores;
}

/** Memory quantity in bytes: "128Mi" → 134217728, "500M" → 500000000, 1048576 → 1048576. */
export function parseMemory(q: string | number): number {
  const bad = (why = ''): Error =>
    new Error(`invalid memory quantity ${show(q)}${why}: expected ${MEMORY_FORMS}`);
  if (typeof q === 'number') {
    if (!Number.isFinite(q) || q <= 0) throw bad(' (must be greater than 0)');
    if (!Number.isInteger(q)) throw bad(' (fraction of a byte)');
    if (!Number.isSafeInteger(q)) throw bad(' (too large)');
    return q;
  }
  if (typeof q !== 'string') throw bad();
  const m = MEMORY_RE.exec(q);
  if (!m || (m[1] === undefined && !m[2])) {
    // "128m" is millibytes in Kubernetes, almost always a typo for Mi or M.
    if (/^\d+(\.\d+)?m$/.test(q))
      throw bad(
        ` (the suffix 'm' means thousandths of a byte; did you mean '${q.slice(0, -1)}Mi'?)`,
      );
    throw bad();
  }
  const [, whole = '0', frac = '', suffix = ''] = m;
  // Exact arithmetic: 1.1 * 1e6 in floating point is 1100000.0000000002.
  const scale = 10n ** BigInt(frac.length);
  const scaled = (BigInt(whole) * scale + BigInt(frac || '0')) * MEMORY_MULTIPLIERS[suffix]!;
  if (scaled === 0n) throw bad(' (must be greater than 0)');
  if (scaled % scale !== 0n) throw bad(' (fraction of a byte)');
  const bytes = scaled / scale;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(' (too large)');
  return Number(bytes);
}

const quantity = (parse: (q: string | number) => number, what: string) =>
  v.pipe(
    v.union([v.string(), v.number()], `must be a ${what} quantity (string or number)`),
    // The parser's own message names the value and the accepted forms, so reuse it verbatim.
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      try {
        parse(dataset.value);
      } catch (e) {
        addIssue({ message: (e as Error).message });
      }
    }),
  );

/** A CPU quantity as written in YAML; the output keeps the original form. Parse it with parseCpu. */
export const CpuQuantity = quantity(parseCpu, 'CPU');
/** A memory quantity as written in YAML; the output keeps the original form. Parse it with parseMemory. */
export const MemoryQuantity = quantity(parseMemory, 'memory');
