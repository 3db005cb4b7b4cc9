// Secrets: values kept under <state_dir>/secrets (a 0700 directory of 0600 files: the gateway's alone),
// and each deployment's own read-only copies of the ones its manifest names, mounted one file at a time
// at /run/secrets/<name>. A value never travels in an environment variable, a log line or an answer:
// only names do.
import { createHash, randomBytes } from 'node:crypto';
import {
  chmod,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { TitanError } from './errors.ts';
import type { FunctionSpec } from './spec.ts';

export const SECRET_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const SECRET_NAME_RULE =
  'a lowercase letter or digit followed by up to 62 of a-z, 0-9, _, . and -, without ".."';
/** The largest value a secret may have (a key, a certificate, a small JSON credential). */
export const MAX_SECRET_BYTES = 64 * 1024;
/** Where a function sees its secrets, one read-only file each. */
export const SECRETS_MOUNT = '/run/secrets';

/** Why `name` is no secret name, or undefined. Never echoes more than 80 characters of it. */
export function secretNameProblem(name: unknown): string | undefined {
  if (typeof name === 'string' && SECRET_NAME.test(name) && !name.includes('..')) return undefined;
  const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 80)) : typeof name;
  return `a secret name must be ${SECRET_NAME_RULE} (got ${shown})`;
}

export function validateSecretName(name: unknown): asserts name is string {
  const problem = secretNameProblem(name);
  if (problem) throw new TitanError('invalid_name', problem);
}

export const secretsDirOf = (stateDir: string): string => path.join(stateDir, 'secrets');
/** Each deployment's copies: `<state_dir>/secret-mounts/<function>-<nonce>/<name>`. */
export const secretCopiesRoot = (stateDir: string): string => path.join(stateDir, 'secret-mounts');

export interface SecretListing {
  name: string;
  /** ISO time of the last set */
  updated_at: string;
}

export class SecretStore {
  constructor(readonly dir: string) {}

  private async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700); // whatever the umask, and whoever made it before
  }

  /** Writes atomically (a temporary file renamed over it): a reader sees the old value or the new. */
  async set(name: string, value: Uint8Array): Promise<{ created: boolean }> {
    validateSecretName(name);
    if (value.length > MAX_SECRET_BYTES)
      throw new TitanError(
        'payload_too_large',
        `a secret is at most ${MAX_SECRET_BYTES} bytes (got ${value.length})`,
      );
    await this.ensureDir();
    const file = path.join(this.dir, name);
    const created = !(await exists(file));
    const tmp = path.join(this.dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(value);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    return { created };
  }

  /** Names and when each was set; never a value. */
  async list(): Promise<SecretListing[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: SecretListing[] = [];
    for (const name of names.filter((n) => secretNameProblem(n) === undefined).sort()) {
      const st = await stat(path.join(this.dir, name)).catch(() => undefined);
      if (st?.isFile()) out.push({ name, updated_at: st.mtime.toISOString() });
    }
    return out;
  }

  async remove(name: string): Promise<void> {
    validateSecretName(name);
    try {
      await unlink(path.join(this.dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new TitanError('not_found', `no secret named '${name}'`);
      throw err;
    }
  }

  async read(name: string): Promise<Buffer | undefined> {
    validateSecretName(name);
    return readFile(path.join(this.dir, name)).catch(() => undefined);
  }

  /** A digest of the named secrets' values (and which are missing): it changes when one is set or removed. */
  async stamp(names: readonly string[]): Promise<string> {
    const h = createHash('sha256');
    for (const name of [...names].sort()) {
      const value = await this.read(name);
      h.update(name)
        .update('\0')
        .update(value ? createHash('sha256').update(value).digest('hex') : 'missing')
        .update('\0');
    }
    return h.digest('hex');
  }

  /**
   * Returns the spec with `secretsDir` set: a directory of its own holding a copy of each secret it
   * names. Copies, not the stored files: they are readable by the container's user (0444, inside a
   * 0700 directory no other host user can enter), a change to the store never reaches a running
   * version (the next version is rolled out instead), and removing a secret cannot make the engine
   * create a directory where a mounted file was. Throws function_invalid naming each missing secret.
   */
  async copyFor(spec: FunctionSpec, root: string): Promise<FunctionSpec> {
    if (spec.secrets.length === 0) return spec;
    const values = await Promise.all(
      spec.secrets.map(async (name) => [name, await this.read(name)] as const),
    );
    const missing = values.filter(([, v]) => v === undefined).map(([n]) => `'${n}'`);
    if (missing.length > 0) {
      const one = missing.length === 1;
      throw new TitanError(
        'function_invalid',
        `secrets: ${missing.join(', ')} ${one ? 'is' : 'are'} not set; set ${one ? 'it' : 'them'} with \`titan secret set <name>\` (or PUT /secrets/<name>)`,
        { missing_secrets: missing.map((m) => m.slice(1, -1)) },
      );
    }
    await mkdir(root, { recursive: true, mode: 0o700 });
    await chmod(root, 0o700);
    const dir = path.join(root, `${spec.name}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    try {
      for (const [name, value] of values) {
        const file = path.join(dir, name);
        await writeFile(file, value!, { mode: 0o444, flag: 'wx' });
        await chmod(file, 0o444);
      }
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return { ...spec, secretsDir: dir };
  }
}

/** Removes a deployment's copies once no container mounts them (its pool drained). Never rejects. */
export async function removeSecretCopies(spec: FunctionSpec): Promise<void> {
  if (spec.secretsDir) await rm(spec.secretsDir, { recursive: true, force: true }).catch(() => {});
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );
