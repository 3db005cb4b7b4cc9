// `--profile`: sums the gateway's .cpuprofile into self time per package and per function, as shares
// of the busy samples (idle left out: the gateway waits through the other sides' runs). The gateway
// runs bundled (dist/bench/), so frames are mapped back to their .ts sources through the bundle's
// source map; without one, the bundle's own lines are shown.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
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
  const own = /\/(gateway|runtime|bench)\/(.+)$/.exec(url);
  return own ? `${own[1]}/${own[2]}` : url;
}

/** Maps a bundle's frames to their sources, one SourceMap per bundle file. */
class Sources {
  private readonly maps = new Map<string, SourceMap | undefined>();

  async load(url: string): Promise<void> {
    if (this.maps.has(url) || !url.startsWith('file://')) return;
    const file = `${fileURLToPath(url)}.map`;
    this.maps.set(
      url,
      existsSync(file) ? new SourceMap(JSON.parse(await readFile(file, 'utf8'))) : undefined,
    );
  }

  /** `url` and 1-based line of the source, or the frame's own. */
  where(frame: ProfileNode['callFrame']): { url: string; line: number } {
    const map = this.maps.get(frame.url);
    const entry = map?.findEntry(frame.lineNumber, frame.columnNumber) as
      | { originalSource?: string; originalLine?: number }
      | undefined;
    if (entry?.originalSource)
      return { url: entry.originalSource, line: (entry.originalLine ?? 0) + 1 };
    return { url: frame.url, line: frame.lineNumber + 1 };
  }
}

export async function summariseProfiles(dir: string, top = 30): Promise<string> {
  const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.cpuprofile'));
  const out: string[] = [];
  for (const f of files) {
    const p = JSON.parse(await readFile(join(dir, f), 'utf8')) as Profile;
    const sources = new Sources();
    for (const n of p.nodes) await sources.load(n.callFrame.url);
    const byFn = new Map<string, number>();
    const byOwner = new Map<string, number>();
    let busy = 0;
    for (const n of p.nodes) {
      const hits = n.hitCount ?? 0;
      const { functionName } = n.callFrame;
      if (!hits || functionName === '(idle)') continue;
      busy += hits;
      const { url, line } = sources.where(n.callFrame);
      const key = `${functionName || '(anonymous)'} ${url ? `${ownerOf(url)}:${line}` : ''}`.trim();
      byFn.set(key, (byFn.get(key) ?? 0) + hits);
      const owner = functionName === '(garbage collector)' ? '(gc)' : ownerOf(url);
      byOwner.set(owner, (byOwner.get(owner) ?? 0) + hits);
    }
    const pct = (h: number) => `${((h / busy) * 100).toFixed(1).padStart(5)}%`;
    const list = (m: Map<string, number>, k: number) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, k)
        .map(([name, h]) => `  ${pct(h)}  ${name}`);
    out.push(
      `cpu profile ${join(dir, f)} (${((p.endTime - p.startTime) / 1e6).toFixed(1)} s, ${p.samples.length} samples, ${busy} busy)`,
    );
    out.push(
      'self time by package or file, share of the busy samples:',
      ...list(byOwner, 20),
      `self time by function (top ${top}):`,
      ...list(byFn, top),
    );
  }
  return out.length ? out.join('\n') : `no .cpuprofile in ${dir}`;
}
