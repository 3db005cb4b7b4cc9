// The client side of remote deploy: a function folder as a tar.gz (what PUT /functions/:name/source
// takes). Regular files and directories only, as the gateway takes nothing else: a symbolic link or
// a special file is reported here, by path, before anything is sent. `.git` is left out.
import { lstat, readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

interface TarPack extends NodeJS.ReadableStream {
  entry(
    header: { name: string; type: 'file' | 'directory'; mode: number; size?: number; mtime?: Date },
    body?: Buffer,
  ): void;
  finalize(): void;
}
const tarStream = createRequire(import.meta.url)('tar-stream') as { pack(): TarPack };

const SKIPPED = new Set(['.git']);

export class PackError extends Error {}

/** The folder's files as a gzipped tar, paths relative to the folder. */
export async function packFolder(dir: string): Promise<{ archive: Buffer; files: number }> {
  const root = await lstat(dir).catch(() => undefined);
  if (!root?.isDirectory()) throw new PackError(`${dir} is not a directory`);
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  let files = 0;
  const walk = async (rel: string): Promise<void> => {
    for (const e of (await readdir(path.join(dir, rel), { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (SKIPPED.has(e.name)) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = await lstat(path.join(dir, r));
      if (st.isDirectory()) {
        pack.entry({ name: `${r}/`, type: 'directory', mode: 0o755, mtime: st.mtime });
        await walk(r);
      } else if (st.isFile()) {
        pack.entry(
          { name: r, type: 'file', mode: st.mode & 0o111 ? 0o755 : 0o644, mtime: st.mtime },
          await readFile(path.join(dir, r)),
        );
        files++;
      } else {
        throw new PackError(
          `${r} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}: the gateway takes only regular files and directories (copy the target in instead)`,
        );
      }
    }
  };
  await walk('');
  pack.finalize();
  await ended;
  return { archive: gzipSync(Buffer.concat(chunks)), files };
}
