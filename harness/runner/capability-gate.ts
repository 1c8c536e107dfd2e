/**
 * Steps that need something the kernel does not offer (pure; unit-tested):
 * such a step, and the rest of its case, end as SKIP with the reason.
 * Only a capability known to be absent skips; `unknown` lets the step run.
 */
import { ramdaxReason, type KernelCapabilities, type OptionName } from '../setup/capabilities.js';
import type { Step } from '../steps/types.js';

const DAX_MOUNT = /(^|,)dax(=always|=inode)?(,|$)/;

/** The kernel options a step needs, from its kind and parameters. */
export function stepNeeds(step: Pick<Step, 'kind' | 'params'>): OptionName[] {
  const p = (step.params ?? {}) as Record<string, unknown>;
  switch (step.kind) {
    case 'ramdax':
      return p.driver === 'nd_e820' ? [] : p.driver === 'of_pmem' ? ['OF_PMEM'] : ['RAMDAX'];
    case 'namespace':
      return p.mode === 'devdax' ? ['DEV_DAX'] : [];
    case 'race':
      return p.mode === 'devdax' ? ['RAMDAX', 'DEV_DAX'] : ['RAMDAX'];
    case 'devdax-io':
      return ['DEV_DAX'];
    case 'mount':
      return typeof p.options === 'string' && DAX_MOUNT.test(p.options) ? ['FS_DAX'] : [];
    case 'dax-active':
      return p.expect === false ? [] : ['FS_DAX'];
    case 'dax-faults':
      return p.expect === 'none' ? [] : ['FS_DAX'];
    default:
      return [];
  }
}

/** Why this kernel cannot run the step, or undefined. */
export function capabilityGap(step: Pick<Step, 'kind' | 'params'>, caps: KernelCapabilities, release: string): string | undefined {
  for (const o of stepNeeds(step)) {
    if (caps.options[o] !== 'absent') continue;
    return o === 'RAMDAX' ? ramdaxReason(release, caps) : `kernel ${release} has no ${o} (CONFIG_${o} not set${caps.from === 'config' ? '' : `; from ${caps.from}`})`;
  }
  return undefined;
}
