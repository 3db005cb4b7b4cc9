// A gateway's container scope: which containers on the engine are its own (label `titan.scope`).
// It comes from a random id created once in the state directory (`instance-id`) and the directory's
// path, so two gateways never share one: not two hosts with the same path (each has its own id), not
// a copy of a state directory at another path (the path differs), not two gateways on one engine.
// The same state directory after a crash reads the same id back and so finds its own orphans.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { TitanError } from './errors.ts';

export const INSTANCE_ID_FILE = 'instance-id';
/** 128 random bits in hex, and a newline: nothing else is ever read as an id. */
const ID = /^[0-9a-f]{32}\n?$/;
const MAX_BYTES = 64;

/**
 * The id kept in `<stateDir>/instance-id`, created when absent. Synchronous: called once when a
 * gateway is assembled, before anything else touches the engine. A file that is not exactly what
 * this function writes (garbage, too long, a symlink, a directory) is refused, never used or
 * replaced: replacing it would lose track of the containers a crashed gateway left under it.
 */
export function instanceIdOf(stateDir: string): string {
  const dir = resolve(stateDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, INSTANCE_ID_FILE);
  createOnce(file);
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink planted in its place is refused rather than read through.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw refused(file, `it cannot be opened (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refused(file, 'it is not a regular file');
    if (st.size > MAX_BYTES) throw refused(file, `it is ${st.size} bytes long`);
    const buf = Buffer.alloc(MAX_BYTES);
    const text = buf.subarray(0, readSync(fd, buf, 0, MAX_BYTES, 0)).toString('latin1');
    if (!ID.test(text)) throw refused(file, 'it does not hold 32 hexadecimal digits');
    return text.trim();
  } finally {
    closeSync(fd);
  }
}

/** The scope label of the gateway on this state directory: 12 hex digits of a hash of id and path. */
export function scopeOf(stateDir: string): string {
  const dir = resolve(stateDir);
  return createHash('sha256')
    .update(`${instanceIdOf(dir)}\0${dir}`)
    .digest('hex')
    .slice(0, 12);
}

/**
 * Write a new id unless one exists. Written aside and hard-linked into place: a gateway starting at
 * the same moment either creates it or reads a complete one, never an empty or half-written file.
 */
function createOnce(file: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${randomBytes(16).toString('hex')}\n`, { flag: 'wx', mode: 0o644 });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
}

function refused(file: string, why: string): TitanError {
  return new TitanError(
    'invalid_config',
    `refusing the state directory's instance id ${file}: ${why}. Titan writes 32 hexadecimal digits there once; remove the file to have a new one written (containers a crashed gateway left under the old one must then be removed by hand)`,
  );
}
