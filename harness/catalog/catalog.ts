import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { InputError } from '../common/errors.js';
import { imagesDir, kernelsDir } from '../common/paths.js';
import { YamlSource } from '../common/yaml-source.js';
import { ImageDef, KernelDef } from './schema.js';

/** The kernel and image definitions a checkout declares (kernels/*.yaml, images/*.yaml). */
export interface Catalog {
  kernels: Map<string, KernelDef & { file: string }>;
  images: Map<string, ImageDef & { file: string }>;
}

async function loadDir<S extends z.ZodType<{ name: string }>>(dir: string, schema: S) {
  const out = new Map<string, z.output<S> & { file: string }>();
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => /\.ya?ml$/.test(f)).sort();
  const problems: InputError['problems'] = [];
  for (const f of files) {
    const file = join(dir, f);
    try {
      const src = await YamlSource.read(file);
      const def = src.validate(schema);
      if (out.has(def.name)) {
        problems.push({ pos: src.posOf(['name']), message: `'${def.name}' is already defined in ${out.get(def.name)!.file}` });
      } else out.set(def.name, { ...def, file });
    } catch (err) {
      if (err instanceof InputError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (problems.length) throw new InputError(problems);
  return out;
}

export async function loadCatalog(root?: string): Promise<Catalog> {
  return {
    kernels: await loadDir(kernelsDir(root), KernelDef),
    images: await loadDir(imagesDir(root), ImageDef),
  };
}
