/**
 * Per-kernel outcomes (pure): `expect: { kernels: [...] }` says, for the
 * kernel a case runs on, whether the case must pass or is known bad — so a
 * nightly run tells "still broken upstream" (exit 0, a point says so) from
 * "newly broken" or "fixed" (exit 1).
 *
 * - The first entry whose conditions all hold applies (kernel name globs,
 *   release glob, a patch subject in the kernel's series); no entry: the
 *   plain verdict.
 * - An entry without `knownBad`: the case must pass, as without an entry.
 * - With `knownBad`: a failing point whose `name: reason` or kernel finding
 *   title matches the pattern passes as "known bad"; the steps after it are
 *   not run (skips). A last point `known bad on KERNEL` passes when the case
 *   failed that way and no other way, and fails when the case passed (fixed?
 *   give the kernel an entry without knownBad) or failed some other way
 *   (newly broken). Errors (the harness or host broke) are never known bad.
 */
import type { PointResult } from '../model/results.js';
import type { KernelOutcome } from '../scenario/schema.js';
import { globToRegExp } from '../matrix/expand.js';
import { titleFor } from '../triage/findings.js';

type Point = Omit<PointResult, 'id'>;

/** What the harness knows of a case's kernel before it boots. */
export interface KernelFacts {
  name: string;
  release?: string;
  /** Subjects of the patches it was built with (source builds). */
  patches: string[];
}

/** `[PATCH v2 1/3] nvdimm: x` → `nvdimm: x`. */
export function bareSubject(subject: string): string {
  return subject.replace(/^(\s*\[[^\]]*\]\s*)+/, '').trim();
}

const globs = (g: string | string[] | undefined) => (g === undefined ? undefined : (Array.isArray(g) ? g : [g]).map(globToRegExp));

/** Does this entry's every condition hold for the kernel? */
export function entryMatches(e: KernelOutcome, k: KernelFacts): boolean {
  const names = globs(e.kernel);
  if (names && !names.some((re) => re.test(k.name))) return false;
  if (e.release !== undefined && !(k.release !== undefined && globToRegExp(e.release).test(k.release))) return false;
  if (e.patch !== undefined && !k.patches.some((s) => bareSubject(s) === bareSubject(e.patch!))) return false;
  return true;
}

/** The entry that applies to the kernel (first match), with its 1-based position. */
export function pickEntry(entries: readonly KernelOutcome[] | undefined, k: KernelFacts): { entry: KernelOutcome; n: number } | undefined {
  const i = (entries ?? []).findIndex((e) => entryMatches(e, k));
  return i < 0 ? undefined : { entry: entries![i]!, n: i + 1 };
}

/** How an entry matched, for reasons: `entry 2 (kernel source-7.2*)`. */
export function describeEntry(e: KernelOutcome, n: number): string {
  const parts = [
    e.kernel !== undefined ? `kernel ${[e.kernel].flat().join(', ')}` : undefined,
    e.release !== undefined ? `release ${e.release}` : undefined,
    e.patch !== undefined ? `patch '${e.patch}'` : undefined,
  ].filter(Boolean);
  return `expect.kernels entry ${n}${parts.length ? ` (${parts.join('; ')})` : ' (every other kernel)'}`;
}

export class KnownBad {
  private readonly re: RegExp | undefined;
  private seen: string | undefined;
  private other: string | undefined;
  private errored: string | undefined;
  private ended = false;

  constructor(
    private readonly kernel: string,
    private readonly picked: { entry: KernelOutcome; n: number } | undefined,
  ) {
    this.re = picked?.entry.knownBad !== undefined ? new RegExp(picked.entry.knownBad) : undefined;
  }

  /** A known-bad entry applies: points are judged and a last point is added. */
  get active(): boolean {
    return this.re !== undefined;
  }

  private get label(): string {
    return `known bad on ${this.kernel}${this.picked?.entry.bug ? ` (${this.picked.entry.bug})` : ''}`;
  }

  /** Judge a point before it is recorded; changes it in place (the runner reads the judged status). */
  judge(p: Point): void {
    if (!this.re) return;
    if (p.status === 'miss' && this.ended) {
      p.status = 'skip';
      p.reason = `not run: the case failed as ${this.label}`;
      return;
    }
    if (p.status === 'error') this.errored ??= `${p.name}: ${p.reason ?? 'error'}`;
    if (p.status !== 'fail') return;
    const texts = [`${p.name}: ${p.reason ?? ''}`, ...(p.findings ?? []).map(titleFor)];
    const hit = texts.find((x) => this.re!.test(x));
    if (!hit) {
      this.other ??= `${p.name}: ${p.reason ?? 'failed'}`;
      return;
    }
    this.seen ??= hit;
    this.ended = true;
    p.reason = `${this.label}: the point failed as known — ${p.reason ?? ''}`;
    p.status = 'pass';
    p.details = { ...p.details, knownBad: { kernel: this.kernel, entry: this.picked!.n, pattern: this.picked!.entry.knownBad, matched: hit } };
  }

  /** The verdict on the kernel, as the case's last point (none without a known-bad entry). */
  finalPoint(): Point | undefined {
    if (!this.re || !this.picked) return undefined;
    const where = describeEntry(this.picked.entry, this.picked.n);
    const pattern = `/${this.picked.entry.knownBad}/`;
    const base = { name: this.label, kind: 'step' as const, durationMs: 0 };
    if (this.seen && !this.other) return { ...base, status: 'pass', reason: `still broken: failed as known (${pattern})`, details: { verdict: 'still-broken', entry: this.picked.n, matched: this.seen } };
    if (this.seen) return { ...base, status: 'fail', reason: `failed as known (${pattern}), and also otherwise: ${this.other}`, details: { verdict: 'newly-broken', entry: this.picked.n, other: this.other } };
    if (this.errored && !this.seen) return { ...base, status: 'fail', reason: `not judged: the case errored before it could fail as known (${pattern}): ${this.errored}`, details: { verdict: 'not-judged', entry: this.picked.n } };
    if (this.other) return { ...base, status: 'fail', reason: `newly broken: the case failed, but not as known (${pattern}): ${this.other}`, details: { verdict: 'newly-broken', entry: this.picked.n, other: this.other } };
    return { ...base, status: 'fail', reason: `the case passed on ${this.kernel}, which ${where} says is known bad (${pattern}): fixed? Give this kernel an entry without knownBad`, details: { verdict: 'fixed', entry: this.picked.n } };
  }
}
