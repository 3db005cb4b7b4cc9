// Which folders must be redeployed because a secret they name was set, changed or removed: the
// deployer records, at each deploy, a digest of the values its secrets had; a reconcile that finds
// the digest changed redeploys the folder (a roll: the new version warms, then the old drains),
// though none of the folder's files changed.
import type { SecretStore } from '../secrets.ts';

export class SecretRolls {
  /** by folder: the secret names its last deploy read, and their digest then */
  private readonly seen = new Map<string, { names: string[]; stamp: string }>();

  constructor(private readonly store: SecretStore) {}

  async record(folder: string, names: string[]): Promise<void> {
    if (names.length === 0) this.seen.delete(folder);
    else this.seen.set(folder, { names, stamp: await this.store.stamp(names) });
  }

  /** Whether a secret the folder's last deploy read has another value now (or appeared, or went). */
  async changed(folder: string): Promise<boolean> {
    const s = this.seen.get(folder);
    return !!s && (await this.store.stamp(s.names)) !== s.stamp;
  }

  forget(folder: string): void {
    this.seen.delete(folder);
  }
}
