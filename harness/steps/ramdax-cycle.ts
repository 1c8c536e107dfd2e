import { command } from '../common/shell-quote.js';
import { metric } from '../perf/metrics.js';
import { judgeLeaks, parseSample, SLAB_SAMPLE_COMMAND, type MemSample } from './mem-sample.js';
import { boundProblems, devicesOfPlatform, identities, labelLessProblems, leftovers, namespaceChanges, parseSnapshot, PLATFORM_DEV, SNAPSHOT_COMMAND, type NdSnapshot } from './nd-sysfs.js';
import { E820_DRIVER_DIR, fail, refreshNamespaces, snapshot } from './ramdax-bind.js';
import type { CycleParams } from './ramdax.js';
import { StepFailure, StepSkip, type StepRecorder } from './recorder.js';
import { withEnv } from './run.js';
import type { StepContext } from './types.js';

const RAMDAX_DRV = '/sys/bus/platform/drivers/ramdax';

/** What one cycle's script printed: exit status and guest-clock duration per operation, snapshots per stage, meminfo. */
export interface CycleOutput {
  rc: Record<string, number>;
  ms: Record<string, number>;
  /** Whether the reloaded driver bound the device by itself (module cycles). */
  autobound?: boolean;
  sections: Record<string, string>;
}

/** Split a cycle script's output (pure): `@rc op N`, `@ms op N`, `@auto yes|no` lines anywhere, `@@ stage` starts a section. */
export function parseCycleOutput(text: string): CycleOutput {
  const out: CycleOutput = { rc: {}, ms: {}, sections: {} };
  const rest: string[] = [];
  for (const line of text.replace(/\n$/, '').split('\n')) {
    const m = /^@(rc|ms|auto) (\S+)(?: (-?\d+))?$/.exec(line);
    if (m?.[1] === 'rc' && m[3] !== undefined) out.rc[m[2]!] = Number(m[3]);
    else if (m?.[1] === 'ms' && m[3] !== undefined) out.ms[m[2]!] = Number(m[3]);
    else if (m?.[1] === 'auto') out.autobound = m[2] === 'yes';
    else rest.push(line);
  }
  let name: string | undefined;
  for (const line of rest) {
    const s = /^@@ (\S+)$/.exec(line);
    if (s) {
      name = s[1]!;
      out.sections[name] = '';
    } else if (name !== undefined) out.sections[name] += `${line}\n`;
  }
  return out;
}

/** Modules to load again after unloading `modules`: the drivers; libnvdimm (and nd_e820, not used here) come as dependencies. */
export function reloadList(modules: string[]): string[] {
  const load = modules.filter((m) => m !== 'libnvdimm' && m !== 'nd_e820');
  return load.includes('ramdax') ? load : ['ramdax', ...load];
}

/** One cycle's guest script (pure): the operations, a snapshot after each stage, meminfo at the end. */
export function cycleScript(p: Pick<CycleParams, 'via' | 'modules'>): { script: string; stages: string[] } {
  const lines = [
    'now() { echo $(( $(date +%s%N) / 1000000 )); }',
    'op() { t=$(now); eval "$2"; rc=$?; echo "@rc $1 $rc"; echo "@ms $1 $(( $(now) - t ))"; }',
    `P=${PLATFORM_DEV}`,
  ];
  const stages: string[] = [];
  const stage = (name: string) => {
    stages.push(name);
    lines.push(`echo '@@ ${name}'`, SNAPSHOT_COMMAND);
  };
  if (p.via === 'unbind') {
    lines.push(`op unbind ${command(`echo e820_pmem > ${RAMDAX_DRV}/unbind`)}`);
    stage('unbound');
    lines.push(`op bind ${command(`echo e820_pmem > ${RAMDAX_DRV}/bind`)}`);
    stage('bound');
  } else if (p.via === 'rmmod') {
    // libnvdimm holds a reference on the provider's module while its bus exists: unloading a bound ramdax is refused.
    lines.push(`op unload-bound ${command('modprobe -r ramdax')}`);
    stage('still-bound');
    lines.push(`op unbind ${command(`echo e820_pmem > ${RAMDAX_DRV}/unbind`)}`);
    lines.push(`op unload ${command(command('modprobe', '-r', '-a', ...p.modules))}`);
    stage('unbound');
    lines.push(`op load ${command(command('modprobe', '-a', ...reloadList(p.modules)))}`);
    // Loading ramdax registers the driver, which binds the device (driver_override says ramdax) by itself.
    lines.push('[ -e $P/driver ] && echo "@auto yes" || echo "@auto no"');
    lines.push(`op bind ${command(`[ -e $P/driver ] || echo e820_pmem > ${RAMDAX_DRV}/bind`)}`);
    stage('bound');
  } else if (p.via === 'none') {
    // The control: the same snapshots and samples, the driver left alone.
    stage('bound');
  } else {
    lines.push(`op unbind ${command(`echo e820_pmem > ${RAMDAX_DRV}/unbind`)}`);
    stage('off-ramdax');
    lines.push('echo > $P/driver_override; modprobe -q nd_e820 2>/dev/null', `E=${E820_DRIVER_DIR}`);
    lines.push(`op bind-e820 ${command('[ -e $P/driver ] || echo e820_pmem > $E/bind')}`);
    stage('on-e820');
    lines.push(`op unbind-e820 ${command('echo e820_pmem > $E/unbind')}`);
    stage('off-e820');
    lines.push('echo ramdax > $P/driver_override');
    lines.push(`op bind ${command(`echo e820_pmem > ${RAMDAX_DRV}/bind`)}`);
    stage('bound');
  }
  lines.push('true');
  return { script: lines.join('\n'), stages };
}

/** Which of `modules` this kernel has as loadable modules (not built in, not absent), asked in the guest. */
async function moduleKinds(r: StepRecorder, modules: string[]): Promise<Record<string, string>> {
  const out = await r.sh(modules.map((m) => `printf '%s %s\\n' ${command(m)} "$(modinfo -F filename ${command(m)} 2>/dev/null | head -n1)"`).join('; '), { allowFail: true });
  const kinds: Record<string, string> = {};
  for (const line of out.stdout.split('\n')) {
    const [name, file] = line.trim().split(/\s+/, 2);
    if (name) kinds[name] = !file ? 'absent' : file === '(builtin)' ? 'builtin' : 'module';
  }
  return kinds;
}

/**
 * Unbind and bind (or unload and reload, or switch through nd_e820) `count`
 * times. Each cycle is one guest round trip that prints a snapshot after
 * every stage: after each unbind nothing may be left, after each bind
 * exactly the expected bus, DIMMs, regions and the same namespaces (by
 * uuid) from the labels. Memory is sampled after a warm-up and at the end;
 * growth per cycle beyond the tolerances fails the step.
 */
export async function cycleAction(ctx: StepContext, r: StepRecorder, p: CycleParams): Promise<void> {
  if (ctx.kernel.ramdax === 'absent') throw new StepSkip(`kernel ${ctx.kernel.release} has no ramdax driver (CONFIG_RAMDAX not set)`, true);
  if (p.via === 'rmmod') {
    if (ctx.kernel.ramdax === 'builtin') throw new StepSkip(`ramdax is built into ${ctx.kernel.release}: there is no module to unload (module cycles need a modular kernel, e.g. debian-7.2)`);
    const kinds = await moduleKinds(r, p.modules);
    r.details.modules = kinds;
    const notModules = p.modules.filter((m) => kinds[m] !== 'module');
    if (notModules.length) throw new StepSkip(`${notModules.map((m) => `${m} is ${kinds[m] === 'builtin' ? 'built in' : 'not available'}`).join(', ')} on ${ctx.kernel.release}: cannot unload ${notModules.length > 1 ? 'them' : 'it'}`);
  }
  const first = await snapshot(r, 'before the cycles');
  const dimms = p.expect.dimms ?? ctx.carveOuts.length;
  const regions = p.expect.regions ?? ctx.carveOuts.length;
  const startProblems = boundProblems(first, { driver: 'ramdax', dimms, regions, namespaces: p.expect.namespaces });
  if (first.mounts.length) startProblems.push(`${first.mounts.map((m) => m.target).join(', ')} mounted: unmount first (an unbind under a mounted file system is \`action: unbind\` with orphanMounts)`);
  if (startProblems.length) fail('cycles need e820_pmem bound to ramdax first', startProblems);
  const ids = identities(first);
  r.details.namespaces = ids;
  const { script, stages } = cycleScript(p);
  const warmup = p.leaks === false ? 0 : Math.min(p.leaks.warmup, p.count);
  // Too few cycles after the warm-up to tell a leak from noise: no samples at all.
  const leaks = p.leaks === false || p.count - warmup < 4 ? undefined : p.leaks;
  if (p.leaks !== false && !leaks) r.details.leaks = `not judged: ${p.count - warmup} cycle(s) after a warm-up of ${warmup} (needs 4)`;
  const half = warmup + Math.ceil((p.count - warmup) / 2);
  const samples: MemSample[] = [];
  const sample = async () => samples.push(parseSample((await r.sh(SLAB_SAMPLE_COMMAND)).stdout));
  const timings: Record<string, number[]> = {};
  const names = new Set<string>();
  let last: NdSnapshot = first;
  let autobound = 0;
  if (leaks && warmup === 0) await sample();
  for (let i = 1; i <= p.count; i++) {
    const where = `cycle ${i}/${p.count}`;
    const res = await r.sh(script, { allowFail: true });
    const out = parseCycleOutput(res.stdout);
    for (const [op, code] of Object.entries(out.rc)) {
      if (op === 'unload-bound') {
        if (code === 0) throw new StepFailure(`${where}: modprobe -r ramdax unloaded the module while e820_pmem was bound (Linux 7.2/7.3 refuse: "Module ramdax is in use")`, { cycle: i });
        continue;
      }
      if (code !== 0) throw new StepFailure(`${where}: ${op} failed (exit ${code})${res.stderr.trim() ? ` — ${res.stderr.trim().split('\n').at(-1)}` : ''}`, { cycle: i });
    }
    for (const [op, ms] of Object.entries(out.ms)) (timings[op] ??= []).push(ms);
    let previous = last;
    for (const st of stages) {
      const text = out.sections[st];
      if (text === undefined) throw new StepFailure(`${where}: the cycle script stopped before '${st}' (exit ${res.exitCode}${res.stderr.trim() ? `: ${res.stderr.trim().split('\n').at(-1)}` : ''})`, { cycle: i });
      let s: NdSnapshot;
      try {
        s = parseSnapshot(text);
      } catch {
        throw new StepFailure(`${where}, ${st}: ndctl list printed something that is not JSON`, { cycle: i, output: text.slice(0, 2000) });
      }
      const problems = stageProblems(st, s, previous, { dimms, regions, ids, modules: p.via === 'rmmod' ? p.modules : [] });
      if (problems.length) fail(`${where} (${p.via}), ${st}`, problems, { cycle: i, stage: st });
      if (st === 'bound') {
        last = s;
        for (const d of devicesOfPlatform(s)) names.add(d.slice(d.lastIndexOf('/') + 1));
      }
      previous = s;
    }
    if (out.autobound) autobound++;
    if (p.check) {
      const c = await r.sh(withEnv(ctx.env, p.check), { allowFail: true });
      r.check(c.exitCode === 0, `${where}: the check after the rebind failed (exit ${c.exitCode}): ${(c.stderr.trim() || c.stdout.trim()).split('\n').at(-1) ?? ''}`, { cycle: i });
    }
    if (leaks && (i === warmup || i === half)) await sample();
  }
  refreshNamespaces(ctx, last);
  r.details.cycles = p.count;
  r.details.deviceNames = [...names].sort();
  if (p.via === 'rmmod') r.details.autobound = `${autobound}/${p.count}`;
  r.details.timingsMs = Object.fromEntries(Object.entries(timings).map(([op, v]) => [op, { median: median(v), max: Math.max(...v) }]));
  for (const [op, v] of Object.entries(timings)) r.metrics.push(metric(`lifecycle:${op}`, 'ms', 'lower', v, { via: p.via, carveOuts: ctx.carveOuts.length, namespaces: ids.length }));
  if (leaks) {
    const measured = p.count - warmup;
    await sample();
    const [a, b, c] = samples as [MemSample, MemSample, MemSample];
    const verdict = judgeLeaks(a, b, c, measured, leaks);
    r.details.leaks = { ...verdict.details, slabinfo: Object.keys(c.slab).length > 0, warmup };
    if (verdict.problems.length) fail(`memory grows with the cycles (${measured} after a warm-up of ${warmup})`, verdict.problems, { leaks: r.details.leaks });
  }
}

/** The checks of one stage of a cycle (pure). */
export function stageProblems(stage: string, s: NdSnapshot, previous: NdSnapshot, e: { dimms: number; regions: number; ids: ReturnType<typeof identities>; modules: string[] }): string[] {
  if (stage === 'unbound' || stage === 'off-ramdax' || stage === 'off-e820') return leftovers(s, previous, { unloaded: e.modules });
  if (stage === 'still-bound') return boundProblems(s, { driver: 'ramdax', dimms: e.dimms, regions: e.regions, namespaces: e.ids.length }).map((x) => `after the refused rmmod: ${x}`);
  if (stage === 'on-e820') return [...boundProblems(s, { driver: 'nd_e820', dimms: 0, regions: e.regions }), ...labelLessProblems(s)];
  return [...boundProblems(s, { driver: 'ramdax', dimms: e.dimms, regions: e.regions, namespaces: e.ids.length }), ...namespaceChanges(e.ids, identities(s))];
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
