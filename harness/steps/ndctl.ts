/** Shapes of `ndctl list` JSON and helpers to read it (pure). */

export interface NdRegion {
  dev: string;
  size: number;
  align?: number;
  available_size?: number;
  type?: string;
  namespaces?: NdNamespace[];
  mappings?: { dimm: string; offset: number; length: number }[];
}

export interface NdNamespace {
  dev: string;
  mode: string;
  map?: string;
  size: number;
  uuid?: string;
  align?: number;
  blockdev?: string;
  chardev?: string;
  daxregion?: { devices?: { chardev?: string }[] };
}

export interface NdBus {
  provider: string;
  dev: string;
  dimms?: { dev: string }[];
  regions?: NdRegion[];
}

/** `ndctl list` prints one object for one bus and an array for several (nothing for none). */
export function asArray<T>(v: T | T[] | undefined | null): T[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

export function chardevOf(ns: NdNamespace): string | undefined {
  return ns.chardev ?? ns.daxregion?.devices?.[0]?.chardev;
}
