// Runs one program without a shell: a fixed PATH, a minimal environment, capped output, a time limit.
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** Fixed, whatever the container's environment says: the image decides what a name means. */
export const SAFE_PATH = '/usr/local/bin:/usr/bin:/bin';
/** Everything the program sees of the environment (the function's own env may hold secrets). */
const CHILD_ENV = { PATH: SAFE_PATH, LC_ALL: 'C.UTF-8', TZ: 'UTC', HOME: '/tmp' };
/** After a kill, how long to wait for the pipes to close (a grandchild could hold them) before giving up on them. */
const CLOSE_GRACE_MS = 2000;

export interface RunOptions {
  binary: string;
  args: readonly string[];
  stdin?: string;
  cwd: string;
  timeoutMs: number;
  /** cap on stdout and on stderr, each */
  maxOutputBytes: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** null when a signal ended the program */
  exit_code: number | null;
  signal: string | null;
  /** an output reached maxOutputBytes: the program was killed and the output cut there */
  truncated: boolean;
  /** the program outlived timeoutMs and was killed */
  timed_out: boolean;
}

/** The absolute path of an executable `name` on SAFE_PATH, or undefined. */
export function resolveBinary(name: string, searchPath = SAFE_PATH): string | undefined {
  for (const dir of searchPath.split(':')) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The longest prefix of `buf` of at most `max` bytes that does not cut a UTF-8 character in two. */
export function utf8Prefix(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let cut = max;
  // Back off over continuation bytes (10xxxxxx) to the start of the character the cut falls in; at most 3.
  while (cut > 0 && max - cut < 3 && (buf[cut]! & 0xc0) === 0x80) cut--;
  return buf.subarray(0, cut);
}

/** Collects one output stream up to `max` bytes; calls `overflow` once when more arrives. */
function capture(stream: NodeJS.ReadableStream, max: number, overflow: () => void) {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  stream.on('data', (chunk: Buffer) => {
    if (over) return;
    chunks.push(chunk);
    size += chunk.length;
    if (size > max) {
      over = true;
      overflow();
    }
  });
  return {
    get truncated() {
      return over;
    },
    text: () => utf8Prefix(Buffer.concat(chunks), max).toString('utf8'),
  };
}

export function runCommand({
  binary,
  args,
  stdin,
  cwd,
  timeoutMs,
  maxOutputBytes,
}: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      cwd,
      env: CHILD_ENV,
      shell: false,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let timedOut = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const kill = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      graceTimer ??= setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, CLOSE_GRACE_MS);
    };
    const out = capture(child.stdout, maxOutputBytes, kill);
    const err = capture(child.stderr, maxOutputBytes, kill);
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
    };

    // A program that exits without reading its input closes the pipe: EPIPE here is not an error.
    child.stdin.on('error', () => {});
    child.stdin.end(stdin ?? '');

    child.on('error', (e) => {
      done();
      child.kill('SIGKILL');
      reject(new Error(`could not run ${binary}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      done();
      resolve({
        stdout: out.text(),
        stderr: err.text(),
        exit_code: code,
        signal,
        truncated: out.truncated || err.truncated,
        timed_out: timedOut,
      });
    });
  });
}
