/**
 * Real consumers of the lab outputs: Debian's python3-junitparser for JUnit XML
 * (installed here with apt-get when missing: the test needs it, a fresh CI
 * machine has only what the project installs) and the vendored KCIDB v5.3
 * JSON schema with ajv.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { root } from './cli.js';

/** Debian's own Python: the one python3-junitparser installs into (a python3 earlier on PATH, e.g. pyenv, does not see it). */
const PY = '/usr/bin/python3';
const hasJunitparser = async () => (await execa(PY, ['-c', 'import junitparser'], { reject: false })).exitCode === 0;

/** Make sure python3-junitparser is importable; install it with apt-get (root) when it is not. */
export async function ensureJunitparser(): Promise<void> {
  if (await hasJunitparser()) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = await execa('apt-get', ['install', '-y', '--no-install-recommends', 'python3', 'python3-junitparser'], { reject: false, env });
  if (r.exitCode !== 0) {
    await execa('apt-get', ['update'], { reject: false, env });
    r = await execa('apt-get', ['install', '-y', '--no-install-recommends', 'python3', 'python3-junitparser'], { reject: false, env });
  }
  if (!(await hasJunitparser())) throw new Error(`python3-junitparser could not be installed: ${r.stderr}`);
}

export interface JunitCounts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  suites: { name: string; tests: number; failures: number; errors: number; skipped: number; cases: { name: string; classname: string; result: string[]; types: string[]; messages: string[] }[] }[];
}

/** What junitparser reads from a JUnit file. */
export async function readJunit(file: string): Promise<JunitCounts> {
  await ensureJunitparser();
  const r = await execa(PY, [join(root, 'test/helpers/junit-read.py'), file]);
  return JSON.parse(r.stdout) as JunitCounts;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** A validator of the vendored KCIDB v5.3 schema (draft-07 with formats, as kcidb-io validates). */
export function kcidbValidator() {
  const schema = JSON.parse(readFileSync(join(root, 'test/fixtures/kcidb-schema/v05_03.json'), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(schema);
}
