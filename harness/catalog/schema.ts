import { z } from 'zod';
import { Name, Size } from '../scenario/types.js';

export const KernelDef = z
  .object({
    name: Name,
    description: z.string().optional(),
    debian: z
      .object({
        series: z.string().regex(/^\d+\.\d+$/, 'write the series as MAJOR.MINOR, e.g. "7.2"'),
        flavour: z.enum(['amd64', 'cloud-amd64']).default('amd64'),
        suites: z.array(z.string().regex(/^[a-z0-9-]+$/)).min(1),
        modules: z.boolean().default(true),
      })
      .strict(),
  })
  .strict();
export type KernelDef = z.output<typeof KernelDef>;

export const ImageDef = z
  .object({
    name: Name,
    description: z.string().optional(),
    suite: z.string().regex(/^[a-z0-9-]+$/),
    variant: z.enum(['minbase', 'essential', 'apt', 'required']).default('minbase'),
    size: Size,
    packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/, 'not a Debian package name')).min(1),
  })
  .strict();
export type ImageDef = z.output<typeof ImageDef>;
