/**
 * file:line for every frame of a kernel report, from a debug vmlinux (and the
 * modules' debug .ko files): `nm -S` once per object for the symbol's address
 * (a static function's name can repeat: the printed length picks the right
 * one), then one `addr2line -f -i -p` call per object for all addresses, which
 * also names the functions a frame was inlined into. This is what the kernel's
 * scripts/decode_stacktrace.sh does per line, batched. A trace frame is a
 * return address: like decode_stacktrace.sh, 1 is subtracted so the line is
 * the call's; the RIP line is the exact address.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { host } from '../common/exec.js';
import type { Finding, SymbolizedFrame } from './findings.js';
import { parseFrame, type Frame } from './trace.js';

export interface DebugSymbols {
  /** The vmlinux with DWARF line tables. */
  vmlinux: string;
  /** A folder holding the modules' debug .ko files (searched by name), if any. */
  modulesDir?: string;
  /** Source root to strip from file names (else everything before the first kernel top-level folder goes). */
  srcRoot?: string;
}

const TIMESTAMP = /^\s*(<\d+>)?\s*\[\s*\d+\.\d+\]\s?/;
const TOPS = 'arch|block|certs|crypto|drivers|fs|include|init|io_uring|ipc|kernel|lib|mm|net|rust|samples|scripts|security|sound|usr|virt|tools';
const STARTS_AT_TOP = new RegExp(`^(?:${TOPS})/`);
const TOP = new RegExp(`/((?:${TOPS})/.+)$`);

/**
 * A DWARF file name as a path in the kernel tree (pure): no build or cache
 * folders of the machine that built it — an absolute source folder, or
 * Debian's relative `debian/build/build_amd64_none_amd64/` — up to the first
 * kernel top-level folder.
 */
export function treePath(file: string, srcRoot?: string): string {
  let f = file.replace(/ \(discriminator \d+\)$/, '');
  const root = srcRoot?.replace(/\/$/, '');
  if (root && f.startsWith(`${root}/`)) return f.slice(root.length + 1);
  f = f.replace(/^\.\//, '').replace(/^(\.\.\/)+/, '').replace(/\/\.\//g, '/');
  if (STARTS_AT_TOP.test(f)) return f;
  const m = TOP.exec(f.startsWith('/') ? f : `/${f}`);
  return m ? m[1]! : f.split('/').slice(-2).join('/');
}

/** `addr2line -f -i -p` output for n addresses → n location lists (pure). */
export function parseAddr2line(out: string, srcRoot?: string): SymbolizedFrame['locations'][] {
  const groups: SymbolizedFrame['locations'][] = [];
  for (const raw of out.split('\n')) {
    if (!raw.trim()) continue;
    const inlined = /^\s*\(inlined by\) /.test(raw);
    const m = /^(?:\s*\(inlined by\) )?(\S+) at (.+):(\d+|\?)(?: \(discriminator \d+\))?$/.exec(raw.trim());
    const loc = m && m[2] !== '??' && m[3] !== '?' ? { fn: m[1]!, file: treePath(m[2]!, srcRoot), line: Number(m[3]) } : undefined;
    if (!inlined) groups.push(loc ? [loc] : []);
    else if (loc && groups.length) groups.at(-1)!.push(loc);
  }
  return groups;
}

interface Sym {
  addr: bigint;
  size: number;
}

/** `nm -S` text → name → candidates (text symbols only) (pure). */
export function parseNm(out: string): Map<string, Sym[]> {
  const map = new Map<string, Sym[]>();
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) [tTwW] (\S+)$/.exec(line.trim());
    if (!m) continue;
    const list = map.get(m[3]!) ?? [];
    list.push({ addr: BigInt(`0x${m[1]}`), size: parseInt(m[2]!, 16) });
    map.set(m[3]!, list);
  }
  return map;
}

async function findModule(dir: string, name: string): Promise<string | undefined> {
  const want = new Set([`${name}.ko`, `${name.replace(/_/g, '-')}.ko`]);
  const walk = async (d: string, depth: number): Promise<string | undefined> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isFile() && want.has(e.name)) return join(d, e.name);
    if (depth > 8) return undefined;
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const hit = await walk(join(d, e.name), depth + 1);
      if (hit) return hit;
    }
    return undefined;
  };
  return walk(dir, 0);
}

/**
 * Symbolize the frames of each finding's report in place (findings without a
 * report or frames are left alone). Returns how many frames got a file:line.
 */
export async function symbolizeFindings(findings: Finding[], sym: DebugSymbols): Promise<number> {
  const jobs: { f: Finding; text: string; frame: Frame }[] = [];
  for (const f of findings) {
    for (const l of f.report ?? []) {
      const text = l.replace(TIMESTAMP, '').trim();
      const frame = parseFrame(text);
      if (frame) jobs.push({ f, text, frame });
    }
  }
  if (!jobs.length) return 0;
  const objects = new Map<string, { file?: string; syms?: Map<string, Sym[]>; items: typeof jobs }>();
  for (const j of jobs) {
    const key = j.frame.module ?? '';
    if (!objects.has(key)) objects.set(key, { items: [] });
    objects.get(key)!.items.push(j);
  }
  const located = new Map<(typeof jobs)[number], SymbolizedFrame['locations']>();
  for (const [module, o] of objects) {
    o.file = module ? (sym.modulesDir ? await findModule(sym.modulesDir, module) : undefined) : sym.vmlinux;
    if (!o.file) continue;
    o.syms = parseNm((await host('nm', ['-S', '--defined-only', o.file], { maxBuffer: 1 << 30 })).stdout);
    const addrs: { j: (typeof jobs)[number]; addr: string }[] = [];
    for (const j of o.items) {
      const cands = o.syms.get(j.frame.fn) ?? [];
      const s = cands.find((c) => c.size === j.frame.length) ?? cands[0];
      if (!s) continue;
      const a = s.addr + BigInt(j.frame.offset) - (j.frame.rip || j.frame.offset === 0 ? 0n : 1n);
      addrs.push({ j, addr: `0x${a.toString(16)}` });
    }
    if (!addrs.length) continue;
    const out = await host('addr2line', ['-f', '-i', '-p', '-e', o.file, ...addrs.map((a) => a.addr)], { maxBuffer: 1 << 28 });
    const groups = parseAddr2line(out.stdout, sym.srcRoot);
    addrs.forEach((a, k) => {
      const g = groups[k];
      if (g?.length) located.set(a.j, g);
    });
  }
  let n = 0;
  for (const f of findings) f.symbolized = undefined;
  for (const j of jobs) {
    const locations = located.get(j) ?? [];
    if (locations.length) n++;
    (j.f.symbolized ??= []).push({ frame: j.text, locations });
  }
  return n;
}

/**
 * The `Linux version ...` banners a vmlinux carries (to check it is the kernel
 * that printed a log). There are two: a template with an empty build number
 * (`# SMP ...`), and the final one linked in last (`#2 SMP ... <date>`).
 */
export async function vmlinuxBanners(vmlinux: string): Promise<string[]> {
  const { stdout } = await host('sh', ['-c', 'LC_ALL=C grep -a -o "Linux version [[:print:]]*" "$1" | head -n 8', 'sh', vmlinux], { maxBuffer: 1 << 20 }).catch(() => ({ stdout: '' }));
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** The banner line in a console or dmesg text, timestamp removed. */
export function logBanner(text: string): string | undefined {
  const m = /Linux version [^\r\n]*/.exec(text);
  return m?.[0].trim();
}

export async function readBannerFromFile(file: string): Promise<string | undefined> {
  return logBanner(await readFile(file, 'utf8').catch(() => ''));
}
