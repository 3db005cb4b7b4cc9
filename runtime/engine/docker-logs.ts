// Reading a container's output from the engine's log files: for containers this gateway did not start.
import type Docker from 'dockerode';
import { Writable } from 'node:stream';
import type { ContainerLogLine, LogFollow } from './engine.ts';
import { LogLineSplitter } from './log-lines.ts';

/** A container this engine did not start: its log files, from its start (lossy where they rotate). */
export function followLogFiles(
  docker: Docker,
  id: string,
  onLine: (line: ContainerLogLine) => void,
): LogFollow {
  let stream: (NodeJS.ReadableStream & { destroy(): void }) | undefined;
  let stopped = false;
  let done!: () => void;
  const ended = new Promise<void>((resolve) => (done = resolve));
  void (async () => {
    try {
      // No `since`: the engine replays from the container's start, so attaching a moment after
      // `run` loses nothing. Timestamps give each line the engine's receive time.
      stream = (await docker
        .getContainer(id)
        .logs({ follow: true, stdout: true, stderr: true, timestamps: true })) as typeof stream;
    } catch {
      return done(); // gone already, or the engine is away: nothing to follow
    }
    if (stopped) {
      stream!.destroy();
      return done();
    }
    const splitters = (['stdout', 'stderr'] as const).map(
      (kind) => new LogLineSplitter(kind, onLine),
    );
    // demuxStream writes one whole frame (one engine log message) per write.
    const [out, err] = splitters.map(
      (s) =>
        new Writable({
          write: (frame: Buffer, _enc, cb) => {
            s.frame(frame);
            cb();
          },
        }),
    );
    docker.modem.demuxStream(stream!, out, err);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      if (!stopped) for (const s of splitters) s.end();
      done();
    };
    stream!.on('end', finish);
    stream!.on('close', finish);
    stream!.on('error', finish);
  })();
  return {
    stop: () => {
      stopped = true;
      stream?.destroy();
    },
    ended,
  };
}

/** Logs of a container without a TTY come multiplexed: 8-byte frame headers before each chunk. */
export function demuxToText(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
