import { z } from 'zod';
import { CONTROL } from '../common/printable.js';
import { MAX_STEPS } from './limits.js';
import { Name, Size, Timeout } from '../model/values.js';
import { ARCHES } from '../common/arch.js';

const FindingTitle = z.string().min(1).max(200).regex(/^[^\n]+$/, 'a finding title is one line');

/** What a step is expected to make the kernel report. */
export const Expect = z.object({ finding: FindingTitle }).strict();
export type Expect = z.output<typeof Expect>;

const OneLine = (what: string, max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((v) => !CONTROL.test(v), `${what} is one line of printable text`);

/** A glob over kernel names or releases: `*` any run of characters, `?` one. */
const KernelGlob = z.string().regex(/^[A-Za-z0-9._*?+~-]+$/, 'a kernel name or release glob: letters, digits, . _ + ~ - and the wildcards * ?').max(120);

/** A JavaScript regular expression, checked when the file is loaded. */
const Pattern = OneLine('a knownBad pattern', 300).superRefine((v, ctx) => {
  try {
    new RegExp(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `knownBad is not a valid regular expression: ${(err as Error).message}` });
  }
});

/**
 * How the case must end on one kernel (the first entry whose conditions all
 * hold; an entry without conditions matches every kernel). Without knownBad
 * the case must pass there, as without an entry; with it the kernel is known
 * bad: the case must fail, and at a point whose `name: reason` or kernel
 * finding title matches the pattern (docs/scenarios.md, "Per-kernel outcomes").
 */
export const KernelOutcome = z
  .object({
    /** Kernel names (the case's kernel: `source-7.2`, `source-7.2-p1a2b3c4d` for --patch, ...), globs. */
    kernel: z.union([KernelGlob, z.array(KernelGlob).min(1).max(32)]).optional(),
    /** The kernel's release (uname -r), a glob. */
    release: KernelGlob.optional(),
    /** The kernel was built with a patch of this subject (its `[PATCH n/m]` tag aside), e.g. the fix. */
    patch: OneLine('a patch subject', 200).optional(),
    /** Known bad: the failure this kernel is known to show, a regular expression. */
    knownBad: Pattern.optional(),
    /** What is wrong (or what fixed it), for the reports. */
    bug: OneLine('bug', 300).optional(),
  })
  .strict()
  .refine((e) => e.knownBad !== undefined || hasCondition(e), { message: 'an entry with neither a condition (kernel, release, patch) nor knownBad says nothing' });
export type KernelOutcome = z.output<typeof KernelOutcome>;

function hasCondition(e: { kernel?: unknown; release?: unknown; patch?: unknown }): boolean {
  return e.kernel !== undefined || e.release !== undefined || e.patch !== undefined;
}

/** What a case is expected to do: trigger a kernel finding, and/or end a given way per kernel. */
export const CaseExpect = z
  .object({
    finding: FindingTitle.optional(),
    kernels: z
      .array(KernelOutcome)
      .min(1)
      .max(32)
      .superRefine((list, ctx) => {
        const all = list.findIndex((e) => !hasCondition(e));
        if (all >= 0 && all < list.length - 1) ctx.addIssue({ code: 'custom', path: [all], message: `entry ${all + 1} has no condition, so it matches every kernel: the entries after it would never apply (put it last)` });
      })
      .optional(),
  })
  .strict()
  .refine((e) => e.finding !== undefined || e.kernels !== undefined, { message: 'expect: needs finding: or kernels:' });
export type CaseExpect = z.output<typeof CaseExpect>;

/** Extra kernel arguments: one token each, no spaces (they are not shell-split), printable ASCII. */
const KernelArg = z
  .string()
  .max(512)
  .superRefine((a, ctx) => {
    if (/\s/.test(a) || a === '') ctx.addIssue({ code: 'custom', message: 'a kernel argument cannot contain white space' });
    else if (!/^[\x21-\x7e]+$/.test(a)) ctx.addIssue({ code: 'custom', message: 'a kernel argument is printable ASCII (no control characters, no non-ASCII letters)' });
  });

export const Machine = z
  .object({
    /**
     * Guest architecture. arm64 boots QEMU's `virt` machine (`-cpu max` under
     * TCG; KVM only on an arm64 host) with a device tree the harness writes:
     * carve-outs become `pmem-region` nodes (see docs/arm64.md).
     */
    arch: z.enum(ARCHES).default('x86_64'),
    /** QEMU machine: pc or q35 on x86_64 (default pc), virt on arm64 (the default there). */
    type: z.enum(['pc', 'q35', 'virt']).optional(),
    /**
     * arm64: how the device tree keeps carved RAM from the kernel —
     * usable-memory-range (default: /chosen/linux,usable-memory-range, the RAM
     * is not memory to the kernel) or reserved-no-map (/reserved-memory with
     * no-map: memory the kernel does not map; see docs/arm64.md for what DAX
     * then does).
     */
    carveOut: z.enum(['usable-memory-range', 'reserved-no-map']).optional(),
    memory: Size.refine((n) => n >= 64 * 1024 ** 2 && n <= 1024 ** 4, 'guest memory must be between 64M and 1T').default(4 * 1024 ** 3),
    cpus: z.number().int().min(1).max(64).default(2),
    accel: z.enum(['auto', 'tcg', 'kvm']).default('auto'),
    /**
     * Back guest RAM with a host file (memory-backend-file, share=on) and the
     * root disk with a per-case overlay, so a `reboot: power-cycle` step can
     * kill QEMU and start a new one on the same RAM and disk.
     */
    ramFile: z.boolean().default(false),
    /**
     * Describe the guest as one NUMA node (ACPI SRAT). Without it the kernel
     * knows no target node for a carve-out (NUMA_NO_NODE), and kmem — daxctl's
     * system-ram mode — refuses the device.
     */
    numa: z.boolean().default(false),
    /** Extra empty virtio-blk disks (sparse files in the case folder, deleted after); serials scratch0, scratch1, ... */
    disks: z
      .array(z.object({ size: Size.refine((n) => n >= 1024 ** 2 && n <= 64 * 1024 ** 3, 'a scratch disk is between 1M and 64G') }).strict())
      .max(4)
      .default([]),
    /**
     * Count guest time in instructions (QEMU `-icount shift=N`: one
     * instruction is 2^N ns of guest time; single-threaded TCG). The guest's
     * clocks then follow its own work, not the host's speed, so fio figures
     * barely move with host load: the setting for perf regression runs on a
     * shared or noisy host. Implies TCG; not with `accel: kvm`.
     */
    icount: z.number().int().min(0).max(10).optional(),
    /**
     * The guest's network: `closed` (the default) forwards SSH from
     * 127.0.0.1 and nothing else — the guest reaches neither the host
     * (10.0.2.2 would be the host's loopback) nor beyond (QEMU `restrict=on`);
     * `open` lets it connect out through QEMU's user-mode NAT.
     */
    network: z.enum(['closed', 'open']).default('closed'),
  })
  .strict()
  .refine((m) => m.icount === undefined || m.accel !== 'kvm', { message: 'icount counts instructions under TCG: it cannot be used with accel: kvm', path: ['icount'] })
  .refine((m) => m.type === undefined || (m.type === 'virt') === (m.arch === 'arm64'), {
    message: "machine type 'virt' is the arm64 machine; pc and q35 are x86_64 machines",
    path: ['type'],
  })
  .refine((m) => m.carveOut === undefined || m.arch === 'arm64', { message: 'carveOut chooses how the arm64 device tree hides carved RAM: it needs arch: arm64', path: ['carveOut'] })
  .transform((m) => ({ ...m, type: m.type ?? (m.arch === 'arm64' ? ('virt' as const) : ('pc' as const)) }));
export type Machine = z.output<typeof Machine>;

export const Timeouts = z
  .object({
    /** QEMU start until the guest init reports sshd started. */
    boot: Timeout.default(180_000),
    /** From init to the first SSH command answered. */
    ssh: Timeout.default(60_000),
    /** Default per step; a step may set its own. */
    step: Timeout.default(120_000),
    /** Power-off and QEMU exit. */
    teardown: Timeout.default(30_000),
    /** Boot fails when the console stays silent this long. */
    silence: Timeout.default(90_000),
  })
  .strict();

/** The fields of a scenario file apart from its steps (checked step by step, see steps/registry.ts). */
export const ScenarioHead = z
  .object({
    name: Name,
    description: z
      .string()
      .max(2000)
      .refine((d) => !CONTROL.test(d.replace(/[\n\t]/g, ' ')), 'a description has no control characters (line breaks and tabs aside)')
      .optional(),
    /** Default: debian-7.2 (x86_64) or debian-7.2-arm64 (arm64). */
    kernel: Name.optional(),
    /** Default: default (x86_64) or default-arm64 (arm64). */
    image: Name.optional(),
    machine: Machine.default(Machine.parse({})),
    /**
     * Carve-outs: each list entry is one `memmap=` argument (`1G!4G` or
     * `512M!4G,512M!5G`). On arm64 each entry is one `pmem-region` node of the
     * device tree, each comma-separated range one `reg` entry of it.
     */
    memmap: z.union([z.string(), z.array(z.string()).max(64)], { error: 'memmap is a string like 1G!4G, or a list of them' }).optional(),
    /** Extra kernel command-line arguments. */
    cmdline: z.array(KernelArg).max(64).default([]),
    timeouts: Timeouts.default(Timeouts.parse({})),
    /** How often a failed boot is tried again before the boot point fails; a boot that passes on retry is reported as flaky. */
    retries: z.object({ boot: z.number().int().min(0).max(5).default(1) }).strict().default({ boot: 1 }),
    /** Allow a carve-out outside guest RAM (for the test that shows writes vanish). */
    allowUnbackedMemmap: z.boolean().default(false),
    /** Allow carve-outs smaller than 2M or not whole 4K pages (edge tests of the label area and alignment). */
    allowOddMemmap: z.boolean().default(false),
    /** Axes to expand into cases: `axis: [values]` or `axis: { label: value }`; `${axis}` in values. */
    matrix: z.unknown().optional(),
    /** Combinations to leave out: `[{ fs: xfs, size: small }]` (labels). */
    exclude: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))).max(256).optional(),
    /** Cases with the same kernel, image and command line may share one boot: the steps leave the device as they found it. */
    shareBoot: z.boolean().default(false),
    /**
     * An expected failure: the kernel finding (its title in syzbot's form, e.g.
     * 'WARNING in memmap_init_compound') this case is meant to trigger. A point
     * whose findings are all expected passes; a last point checks it was seen.
     * `kernels:` says per kernel whether the case must pass or is known bad.
     */
    expect: CaseExpect.optional(),
    /** Samples per measurement of fio and bench steps (a step's own `repeats:` wins; `run --repeat` overrides). */
    repeats: z.number().int().min(1).max(100).default(3),
    steps: z.array(z.unknown()).min(1, 'a scenario needs at least one step').max(MAX_STEPS, `a scenario has at most ${MAX_STEPS} steps`),
  })
  .strict();
export type ScenarioHead = z.output<typeof ScenarioHead>;
