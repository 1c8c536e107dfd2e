import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './paths.js';

let cached: string | undefined;

/** The harness version from package.json (recorded in every result and printed by --version). */
export function harnessVersion(): string {
  cached ??= (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}
