// The resource limits every function container is given (runtime/engine/ulimits.ts) hold against the
// function itself, on whichever engine DOCKER_HOST names (npm test: Docker; npm run test:podman: Podman).
// Python's resource module calls setrlimit, which node cannot; the node function checks what it sees.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { defaultConfig } from '../../runtime/config.ts';
import { FUNCTION_ULIMITS } from '../../runtime/engine/ulimits.ts';
import { ensureRuntimeImage } from '../../runtime/image/runtime-image.ts';
import { fn, startHarness, testEngine, type Harness } from '../helpers/harness.ts';

const nofile = FUNCTION_ULIMITS.find((u) => u.Name === 'nofile')!;
const nproc = FUNCTION_ULIMITS.find((u) => u.Name === 'nproc')!;

const raiser = `import os, resource
def handler(event, context):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    tried = {}
    for name, want in (("raise_hard", (hard + 1, hard + 1)), ("raise_soft_past_hard", (hard + 1, hard)), ("unlimited", (resource.RLIM_INFINITY, resource.RLIM_INFINITY))):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, want)
            tried[name] = "raised"
        except (ValueError, OSError) as e:
            tried[name] = type(e).__name__
    # Open descriptors until the kernel refuses: the limit is what it enforces, not just what it reports.
    opened = []
    err = None
    try:
        while len(opened) < hard + 16:
            opened.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as e:
        err = e.strerror
    count = len(opened)
    for fd in opened:
        os.close(fd)
    after = resource.getrlimit(resource.RLIMIT_NOFILE)
    return {"before": [soft, hard], "after": list(after), "tried": tried, "opened": count, "error": err,
            "nproc": list(resource.getrlimit(resource.RLIMIT_NPROC))}
`;

describe('security: a function cannot raise its resource limits', () => {
  let h: Harness;

  before(async () => {
    await ensureRuntimeImage(testEngine(), defaultConfig().sandbox.pythonImage, {
      kind: 'python',
    });
    h = await startHarness({
      raiser: { 'function.yaml': 'runtime: python\n', 'main.py': raiser },
      limits: fn(
        `import { readFileSync } from 'node:fs'; export default async () => readFileSync('/proc/self/limits', 'utf8');`,
      ),
    });
  });
  after(async () => h?.close());

  test(`nofile stays at ${nofile.Soft}/${nofile.Hard}: setrlimit past the hard limit is refused and the kernel stops opens there`, async () => {
    const res = await h.invoke('raiser', {});
    assert.equal(res.status, 200, await res.clone().text());
    const r = (await res.json()) as {
      before: number[];
      after: number[];
      tried: Record<string, string>;
      opened: number;
      error: string;
      nproc: number[];
    };
    assert.deepEqual(r.before, [nofile.Soft, nofile.Hard]);
    assert.deepEqual(r.tried, {
      raise_hard: 'ValueError',
      raise_soft_past_hard: 'ValueError',
      unlimited: 'ValueError',
    });
    assert.deepEqual(r.after, [nofile.Soft, nofile.Hard], 'unchanged after the attempts');
    // The runtime holds a few descriptors already; the rest up to the limit open, then EMFILE.
    assert.ok(
      r.opened < nofile.Hard && r.opened > nofile.Hard - 64,
      `${r.opened} descriptors opened`,
    );
    assert.equal(r.error, 'Too many open files');
    assert.deepEqual(r.nproc, [nproc.Soft, nproc.Hard]);
  });

  test('a node function sees the same limits in /proc/self/limits', async () => {
    const res = await h.invoke('limits', {});
    assert.equal(res.status, 200);
    const text = (await res.json()) as string;
    const row = (label: string) =>
      text
        .split('\n')
        .find((l) => l.startsWith(label))
        ?.split(/\s{2,}/)
        .slice(1, 3)
        .map(Number);
    assert.deepEqual(row('Max open files'), [nofile.Soft, nofile.Hard]);
    assert.deepEqual(row('Max processes'), [nproc.Soft, nproc.Hard]);
  });
});
