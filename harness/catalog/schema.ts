import { z } from 'zod';
import { ARCHES, type Arch } from '../common/arch.js';
import { Name, Size } from '../scenario/types.js';

const Series = z.string().regex(/^\d+\.\d+$/, 'write the series as MAJOR.MINOR, e.g. "7.2"');
const Suites = z.array(z.string().regex(/^[a-z0-9-]+$/)).min(1);

/** A Debian package kernel, fetched by name with the harness's private apt. */
export const DebianKernel = z
  .object({
    series: Series,
    /** An exact version (e.g. "6.19.14+deb13") instead of the newest of the series. */
    version: z.string().regex(/^\d+\.\d+[^\s]*$/).optional(),
    /** Debian's flavour: amd64 and cloud-amd64 are x86_64 kernels, arm64 and cloud-arm64 arm64 kernels. */
    flavour: z.enum(['amd64', 'cloud-amd64', 'arm64', 'cloud-arm64']).default('amd64'),
    suites: Suites,
    modules: z.boolean().default(true),
  })
  .strict();

/** A kernel the user built: paths are relative to the kernels/*.yaml file. */
export const LocalKernel = z
  .object({
    vmlinuz: z.string().min(1),
    modules: z.string().min(1).optional(),
    config: z.string().min(1).optional(),
    /** The architecture the kernel was built for (an arm64 `Image` boots on QEMU's virt machine). */
    arch: z.enum(ARCHES).optional(),
  })
  .strict();

/** A kernel built by the harness from a source tree, out of tree, cached by content. */
export const SourceKernel = z
  .object({
    /** A path to a git tree (relative to the yaml file), or Debian's linux-source-SERIES package. */
    tree: z.union([z.string().min(1), z.object({ debian: z.object({ series: Series, suites: Suites }).strict() }).strict()]),
    /** defconfig, tinyconfig, or a path to a config file. */
    base: z.string().min(1).default('tinyconfig'),
    /** Names of files in kernels/fragments/ (without .config), applied in order. */
    fragments: z.array(z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/)).default([]),
    /** Patch files (relative to the yaml file), applied in order before building. */
    patches: z.array(z.string().min(1)).default([]),
    /** gcov for drivers/nvdimm and drivers/dax + fault injection (kernels/fragments/gcov.config, fault-injection.config, patches/gcov-profile-nvdimm.patch); see docs/coverage.md. */
    coverage: z.boolean().optional(),
    /** arm64: cross-built with gcc-aarch64-linux-gnu (ARCH=arm64, the `Image` target). */
    arch: z.enum(ARCHES).optional(),
  })
  .strict();

export const KernelDef = z
  .object({
    name: Name,
    description: z.string().optional(),
    debian: DebianKernel.optional(),
    local: LocalKernel.optional(),
    source: SourceKernel.optional(),
    /**
     * How much slower this kernel runs than a plain one (a debug kernel with
     * KASAN and lockdep under TCG): every deadline of a case on it — boot,
     * SSH, console silence, steps, teardown — is multiplied by this factor.
     */
    timeoutScale: z.number().min(1).max(20).optional(),
    /** Kernel arguments every boot of this kernel gets, after the scenario's (e.g. what a debug kernel needs under TCG). */
    cmdline: z.array(z.string().regex(/^\S+$/, 'a kernel argument cannot contain white space').max(512)).max(32).optional(),
  })
  .strict()
  .superRefine((k, ctx) => {
    const kinds = (['debian', 'local', 'source'] as const).filter((x) => k[x] !== undefined);
    if (kinds.length !== 1)
      ctx.addIssue({ code: 'custom', path: kinds.length ? [kinds[1]!] : [], message: `a kernel is exactly one of debian:, local:, source: (found ${kinds.length ? kinds.join(' and ') : 'none'})` });
  });
export type KernelDef = z.output<typeof KernelDef>;

/** The architecture a kernel definition is for. */
export function kernelArch(def: KernelDef): Arch {
  if (def.debian) return def.debian.flavour.endsWith('arm64') ? 'arm64' : 'x86_64';
  return def.local?.arch ?? def.source?.arch ?? 'x86_64';
}

export const ImageDef = z
  .object({
    name: Name,
    description: z.string().optional(),
    suite: z.string().regex(/^[a-z0-9-]+$/),
    /** arm64 images are bootstrapped through qemu-user (binfmt_misc) on an x86_64 host. */
    arch: z.enum(ARCHES).optional(),
    variant: z.enum(['minbase', 'essential', 'apt', 'required']).default('minbase'),
    size: Size,
    packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/, 'not a Debian package name')).min(1),
  })
  .strict();
export type ImageDef = z.output<typeof ImageDef>;
