/** A case id as a folder name: `fsdax[fs=xfs]` -> `fsdax_fs=xfs_` (pure; every case's folder must be its own). */
export function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._=+-]/g, '_');
}
