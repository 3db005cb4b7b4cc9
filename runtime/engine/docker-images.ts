// Images through the Engine API: pulling one (with a deadline) and building one from a directory.
import type Docker from 'dockerode';
import { createRequire } from 'node:module';

// tar-fs (dockerode's own tar packer) ships no types.
const tarFs = createRequire(import.meta.url)('tar-fs') as {
  pack(dir: string, opts: { entries: string[]; umask: number }): NodeJS.ReadableStream;
};

/** Pulls `ref`; rejects when the registry has not finished within `timeoutMs`. */
export async function pullImage(docker: Docker, ref: string, timeoutMs: number): Promise<void> {
  const pull = (async () => {
    const stream = await docker.pull(ref);
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
    );
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer from the registry within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([pull, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function buildImage(
  docker: Docker,
  contextDir: string,
  files: string[],
  tag: string,
  dockerfile = 'Dockerfile',
): Promise<void> {
  // Packed here rather than by dockerode so file modes survive as they are (umask 0): the image's
  // /tmp must stay 1777.
  const context = tarFs.pack(contextDir, { entries: files, umask: 0 });
  // No network for build steps: this engine has no bridge, and nothing we build needs one.
  const stream = await docker.buildImage(context, {
    t: tag,
    rm: true,
    forcerm: true,
    dockerfile,
    networkmode: 'none',
  });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => {
      const failed = err?.message ?? out.find((o) => o.error)?.error;
      failed ? reject(new Error(`image build failed: ${failed}`)) : resolve();
    }),
  );
}
