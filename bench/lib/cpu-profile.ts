// `--profile`: sums the gateway's .cpuprofile into self time per package and per function.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/** node_modules/<pkg>, node:<internal>, or the project's own file. */
function ownerOf(url: string): string {
  if (!url) return '(native / idle / gc)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const own = /\/(gateway|runtime)\/(.+)$/.exec(url);
  return own ? `${own[1]}/${own[2]}` : url;
}

export async function summariseProfiles(dir: string, top = 25): Promise<string> {
  const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.cpuprofile'));
  const out: string[] = [];
  for (const f of files) {
    const p = JSON.parse(await readFile(join(dir, f), 'utf8')) as Profile;
    const total = p.samples.length;
    const byFn = new Map<string, number>();
    const byOwner = new Map<string, number>();
    for (const n of p.nodes) {
      const hits = n.hitCount ?? 0;
      if (!hits) continue;
      const { functionName, url, lineNumber } = n.callFrame;
      const key =
        `${functionName || '(anonymous)'} ${url ? `${ownerOf(url)}:${lineNumber + 1}` : ''}`.trim();
      byFn.set(key, (byFn.get(key) ?? 0) + hits);
      const owner =
        functionName === '(idle)'
          ? '(idle)'
          : functionName === '(garbage collector)'
            ? '(gc)'
            : ownerOf(url);
      byOwner.set(owner, (byOwner.get(owner) ?? 0) + hits);
    }
    const pct = (h: number) => `${((h / total) * 100).toFixed(1).padStart(5)}%`;
    const list = (m: Map<string, number>, k: number) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, k)
        .map(([name, h]) => `  ${pct(h)}  ${name}`);
    out.push(
      `cpu profile ${join(dir, f)} (${((p.endTime - p.startTime) / 1e6).toFixed(1)} s, ${total} samples)`,
    );
    out.push(
      'self time by package:',
      ...list(byOwner, 15),
      `self time by function (top ${top}):`,
      ...list(byFn, top),
    );
  }
  return out.length ? out.join('\n') : `no .cpuprofile in ${dir}`;
}
