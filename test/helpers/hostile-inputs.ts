/** Hostile scenario inputs that cannot be static fixtures (made in a temp folder): shared by the unit test and bench/hostile-inputs.ts. */
import { execFileSync } from 'node:child_process';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface HostileInput {
  name: string;
  make: (path: string) => Promise<void>;
  /** What the one problem line must say. */
  expect: RegExp;
  /** line:col it must point at, when that is well defined. */
  pos?: string;
}

export function hostileInputs(dir: string): HostileInput[] {
  const step = '  - run: uname -r\n';
  const head = (name: string) => `name: ${name}\nmemmap: 1G!4G\n`;

  /** name → how to make it, and what the one problem line must say. */
  const inputs: HostileInput[] = [
    { name: 'fifo.yaml', make: async (p) => void execFileSync('mkfifo', [p]), expect: /a FIFO \(named pipe\), not a scenario file: refused without reading it/, pos: '1:1' },
    { name: 'char-device.yaml', make: (p) => symlink('/dev/zero', p), expect: /a character device, not a scenario file/, pos: '1:1' },
    { name: 'loop-a.yaml', make: async (p) => { await symlink(join(dir, 'loop-b.yaml'), p); await symlink(p, join(dir, 'loop-b.yaml')); }, expect: /symbolic link loop/, pos: '1:1' },
    { name: 'dangling.yaml', make: (p) => symlink(join(dir, 'nowhere.yaml'), p), expect: /dangling symbolic link \(to .*nowhere\.yaml, which does not exist\)/ },
    { name: 'utf16le.yaml', make: (p) => writeFile(p, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(head('utf16le') + 'steps:\n' + step, 'utf16le')])), expect: /UTF-16 \(little-endian byte-order mark\): save it as UTF-8/ },
    { name: 'utf16be.yaml', make: (p) => writeFile(p, Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(head('utf16be') + 'steps:\n' + step, 'utf16le').swap16()])), expect: /UTF-16 \(big-endian/ },
    { name: 'utf16-no-bom.yaml', make: (p) => writeFile(p, Buffer.from(head('utf16nobom') + 'steps:\n' + step, 'utf16le')), expect: /NUL byte: the file looks like UTF-16 without a byte-order mark/, pos: '1:2' },
    { name: 'utf32.yaml', make: (p) => writeFile(p, Buffer.from([0xff, 0xfe, 0, 0, 0x6e, 0, 0, 0])), expect: /UTF-32/ },
    { name: 'latin1.yaml', make: (p) => writeFile(p, Buffer.concat([Buffer.from(head('latin1') + 'description: caf'), Buffer.from([0xe9]), Buffer.from('\nsteps:\n' + step)])), expect: /invalid UTF-8 \(byte 0xe9\)/, pos: '3:17' },
    { name: 'binary.yaml', make: (p) => writeFile(p, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0])), expect: /NUL byte: this is a binary file/ },
    { name: 'ten-megabytes.yaml', make: (p) => writeFile(p, head('big') + 'steps:\n' + step.repeat(10 * 1024 * 1024 / step.length)), expect: /the file is 10\.0 MiB, more than the 256K a scenario may have/, pos: '1:1' },
    { name: 'nested-5000-block.yaml', make: (p) => writeFile(p, `${head('deep')}steps:\n  - ${'- '.repeat(5000)}x\n`), expect: /YAML nests deeper than 32 levels/, pos: '4:65' },
    { name: 'nested-5000-flow.yaml', make: (p) => writeFile(p, `${head('deep')}steps: ${'['.repeat(5000)}${']'.repeat(5000)}\n`), expect: /YAML nests deeper than 32 levels/, pos: '3:39' },
    { name: 'nested-50000-map.yaml', make: (p) => writeFile(p, `${head('deep')}steps: ${'{a: '.repeat(50_000)}1${'}'.repeat(50_000)}\n`), expect: /YAML nests deeper than 32 levels/ },
    { name: 'steps-600.yaml', make: (p) => writeFile(p, head('steps600') + 'steps:\n' + step.repeat(600)), expect: /a scenario has at most 500 steps/, pos: '4:3' },
    { name: 'carve-outs-20000.yaml', make: (p) => writeFile(p, `name: carve\nmemmap: "${Array.from({ length: 20_000 }, (_, i) => `2M!${4096 + 2 * i}M`).join(',')}"\nsteps:\n${step}`), expect: /more than 32 carve-outs in one memmap argument/, pos: '2:9' },
    { name: 'carve-outs-40-args.yaml', make: (p) => writeFile(p, `name: carve40\nmachine: { memory: 8G }\nmemmap: [${Array.from({ length: 40 }, (_, i) => `2M!${4096 + 2 * i}M`).join(', ')}]\nsteps:\n${step}`), expect: /40 carve-outs, more than 32/, pos: '3:9' },
    { name: 'cmdline-32k.yaml', make: (p) => writeFile(p, `${head('cmd32k')}cmdline: [${Array.from({ length: 64 }, (_, i) => `a${i}=${'x'.repeat(500)}`).join(', ')}]\nsteps:\n${step}`), expect: /kernel command line would be \d+ bytes .* x86 keeps at most 2047/ },
    { name: 'matrix-512-cases.yaml', make: (p) => writeFile(p, `${head('m512')}matrix:\n${Array.from({ length: 9 }, (_, i) => `  a${i}: [x, y]\n`).join('')}steps:\n${step}`), expect: /expands to 512 cases, more than 256/ },
    { name: 'alias-billion-laughs.yaml', make: (p) => writeFile(p, `${head('laughs')}cmdline:\n  - &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 8 }, (_, i) => `  - &${'bcdefghi'[i]} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]\n`).join('')}steps:\n${step}`), expect: /alias/ },
  ];
  return inputs;
}
