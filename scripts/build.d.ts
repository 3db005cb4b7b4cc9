// Types of scripts/build.js (plain JavaScript: it runs before anything is compiled).
export declare const ROOT: string;
export declare const DIST: string;
export declare const ENTRIES: Record<string, string>;
export interface BuildOptions {
  /** name -> source path, relative to root (or absolute) */
  entries?: Record<string, string>;
  outdir?: string;
  root?: string;
}
export declare function build(opts?: BuildOptions): Promise<{ inputs: string[] }>;
/** Why the build must be redone, or undefined when it is up to date. */
export declare function staleReason(opts?: BuildOptions): string | undefined;
