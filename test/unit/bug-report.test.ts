// Pure parts of bug reports: text report, archive format, outcome comparison, image packages, expectations, from-console.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findFindings } from '../../harness/triage/findings.js';
import { renderText, shellLines, wrap, WIDTH } from '../../harness/report/text.js';
import { argvTemplate, knownHostsLine } from '../../harness/results/archive-format.js';
import { parseSums } from '../../harness/results/unpack.js';
import { compareOutcome, rateLine } from '../../harness/results/outcome.js';
import { keyCommands, packageDiff, parseDpkgStatus } from '../../harness/setup/portable-image.js';
import { Expectations } from '../../harness/runner/expect.js';
import { scenarioFromConsole } from '../../harness/scenario/from-console.js';
import { loadCatalog } from '../../harness/catalog/catalog.js';
import { loadScenarioFile } from '../../harness/scenario/load.js';
import type { CaseResult, PointResult, RunResult } from '../../harness/model/results.js';

const CONSOLES = fileURLToPath(new URL('../fixtures/consoles/', import.meta.url));
const FROM = fileURLToPath(new URL('../fixtures/from-console/', import.meta.url));
const warning = findFindings(readFileSync(`${CONSOLES}real-warning-beyond-ram.log`, 'utf8').split(/\r?\n/))[0]!;

function failedCase(id: string, findings = [warning]): CaseResult {
  const points: PointResult[] = [
    { id: 1, name: 'boot', kind: 'boot', status: 'pass', durationMs: 1 },
    { id: 2, name: 'namespace devdax 256M', kind: 'step', status: 'fail', reason: 'kernel reported WARNING', durationMs: 1, findings, commands: [{ command: 'ndctl create-namespace -m devdax -s 256M -a 2M -r region0 --force', exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false }] },
  ];
  return {
    id, scenario: 'beyond-ram', file: '/somewhere/scenarios/edge/beyond-ram.yaml', status: 'fail', startedAt: '', durationMs: 1, boot: {}, points,
    kernel: { name: 'debian-7.2', release: '7.2.13+deb14-amd64', source: 'debian:linux-binary-7.2.13+deb14-amd64=7.2.13-1', sha256: { vmlinuz: 'a'.repeat(64) }, ramdax: 'module' },
    cmdline: 'console=ttyS0,115200 root=/dev/vda rw init=/sbin/harness-init panic=-1 printk.time=1 random.trust_cpu=on memmap=1G!4G',
    machine: { type: 'pc', cpus: 2, memoryBytes: 3 * 2 ** 30 }, accel: { accel: 'tcg', reason: '' },
    files: { archive: 'ramdax-repro-R-beyond-ram.tar.gz' },
  };
}
const run = (cases: CaseResult[]): RunResult => ({ runId: 'R', dir: '/x', startedAt: '2026-12-01T00:00:00Z', status: 'fail', harness: { version: '0.1.0', node: 'v20' }, qemu: 'QEMU emulator version 7.2.19', host: { cpu: 'x', cores: 2, loadavg: [] }, cases, counts: { pass: 0, fail: cases.length, error: 0, miss: 0, skip: 0 } });

t.test('report.txt: ≤ 80 columns, the sections, one block per title', async (t) => {
  const withSym = { ...warning, symbolized: [{ frame: 'memremap_pages+0x1f3/0x680', locations: [{ fn: 'pagemap_range', file: 'mm/memremap.c', line: 274 }, { fn: 'memremap_pages', file: 'mm/memremap.c', line: 386 }] }] };
  const text = renderText(run([failedCase('beyond-ram', [withSym]), failedCase('beyond-ram-2')]));
  for (const l of text.split('\n')) t.ok(l.length <= WIDTH, `≤ 80: ${l}`);
  t.equal(text.match(/^WARNING in memmap_init_compound$/gm)?.length, 1, 'one block for two cases with the same title');
  t.match(text, /case: +beyond-ram \(also beyond-ram-2\)/);
  for (const s of [/kernel: +7\.2\.13\+deb14-amd64/, /identity: +debian:linux-binary/, /cmdline: +console=ttyS0/, /failed: +step 2 'namespace devdax 256M'/, /command: +ndctl create-namespace/, /Call Trace:/]) t.match(text, s);
  t.match(text, / pagemap_range mm\/memremap\.c:274 \[inline\]\n memremap_pages\+0x1f3\/0x680 mm\/memremap\.c:386/, 'inlined frames first, syzbot-style');
  t.match(text, /Reproduce .*\n  npx ramdax-harness repro ramdax-repro-R-beyond-ram\.tar\.gz/);
  t.match(text, /ramdax-harness 0\.1\.0 \(node v20\)/);
  t.notMatch(text, /Code: /, 'no code bytes');
  t.same(wrap('x'.repeat(100)).map((l) => l.length), [80, 22]);
});

t.test('the reproduce command stays pasteable: one line when it fits, else backslash continuations', async (t) => {
  t.same(shellLines('npx ramdax-harness repro a.tar.gz'), ['  npx ramdax-harness repro a.tar.gz']);
  const long = `npx ramdax-harness repro ramdax-repro-2026-11-30T08-34-06Z-9439-${'x'.repeat(30)}.tar.gz`;
  const lines = shellLines(long);
  t.ok(lines.length > 1, 'broken');
  for (const l of lines) t.ok(l.length <= WIDTH, `≤ ${WIDTH}: ${l}`);
  t.ok(lines.slice(0, -1).every((l) => l.endsWith(' \\')), 'every line but the last continues');
  t.equal(lines.join('\n').replace(/ \\\n +/g, ' ').trim(), long, 'joined as the shell does, the same command');
});

t.test('archive format: argv template, known_hosts, SHA256SUMS', async (t) => {
  const argv = ['/usr/bin/qemu-system-x86_64', '-kernel', '/c/k/vmlinuz', '-drive', 'file=/c/i/rootfs.img,format=raw,if=virtio,snapshot=on', '-chardev', 'file,id=con0,path=/r/run/case/console.log,append=on', '-netdev', 'user,id=net0,hostfwd=tcp:127.0.0.1:40123-:22', '-qmp', 'unix:/tmp/ramdax-qmp-1-2.sock,server=on,wait=off', '-drive', 'file=/r/run/case/scratch0.img,format=raw'];
  const { template, leftovers } = argvTemplate(argv, { '/c/k/vmlinuz': '@KERNEL@', '/c/i/rootfs.img': '@ROOTFS@' }, ['/r', '/c']);
  t.same(template.slice(0, 5), ['qemu-system-x86_64', '-kernel', '@KERNEL@', '-drive', 'file=@ROOTFS@,format=raw,if=virtio,snapshot=on']);
  t.ok(template.includes('file,id=con0,path=@CONSOLE@,append=on'));
  t.ok(template.includes('user,id=net0,hostfwd=tcp:127.0.0.1:@PORT@-:22'));
  t.ok(template.includes('unix:@QMP@,server=on,wait=off'));
  t.ok(template.includes('file=@HOSTPATH@,format=raw'), 'an unknown host path is blanked');
  t.equal(leftovers.length, 1);
  t.notOk(template.join(' ').includes('/r/') || template.join(' ').includes('/c/'));
  t.equal(knownHostsLine('ssh-ed25519 AAAAC3Nza comment here\n'), 'ramdax-guest ssh-ed25519 AAAAC3Nza');
  const ok = parseSums(`${'a'.repeat(64)}  kernel/vmlinuz\n`);
  t.equal(ok.sums.get('kernel/vmlinuz'), 'a'.repeat(64));
  t.same(parseSums(`${'a'.repeat(64)}  ../etc/passwd\n${'b'.repeat(64)}  /etc/x\nnot a line\n`).bad.length, 3, 'escaping names and junk are refused');
});

t.test('outcome: same title reproduces; other titles, a pass or another step do not', async (t) => {
  const rec = { status: 'fail' as const, findings: ['WARNING in memmap_init_compound'], point: { id: 2, name: 'namespace devdax 256M', kind: 'step', status: 'fail', commands: [] } };
  t.same(compareOutcome(rec, failedCase('x')), { reproduced: true, message: "reproduced: same finding 'WARNING in memmap_init_compound'" });
  const passed = { ...failedCase('x'), status: 'pass' as const, points: [] };
  t.match(compareOutcome(rec, passed).message, /not reproduced: expected 'WARNING in memmap_init_compound', the case passed/);
  const noFinding = { ...rec, findings: [] };
  const other = failedCase('x', []);
  t.equal(compareOutcome(noFinding, other).reproduced, true, 'without a finding: the same step failing the same way');
  t.equal(rateLine(2, 5), 'reproduced in 2 of 5 attempt(s) (40 %)');
});

t.test('image packages and the key writes', async (t) => {
  const status = 'Package: ndctl\nStatus: install ok installed\nVersion: 85-1\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: fio\nStatus: install ok installed\nVersion: 3.41-1\n';
  t.same(parseDpkgStatus(status), ['fio=3.41-1', 'ndctl=85-1']);
  t.same(packageDiff(['fio=3.41-1', 'ndctl=85-1'], ['fio=3.41-1', 'ndctl=85-2']), ['ndctl 85-1 here, 85-2 in the archive']);
  const cmds = keyCommands({ hostKey: '/k/h', hostPub: '/k/h.pub', clientPub: '/k/c.pub' });
  t.match(cmds, /cd \/etc\/ssh\nrm ssh_host_ed25519_key\nwrite "\/k\/h" ssh_host_ed25519_key\nsif ssh_host_ed25519_key mode 0100600\nsif ssh_host_ed25519_key uid 0/);
  t.match(cmds, /write "\/k\/c\.pub" authorized_keys/);
});

t.test('expectations: an expected finding passes its point, misses after it are skips, an unseen one fails', async (t) => {
  const title = 'WARNING in memmap_init_compound';
  const e = new Expectations(title, [{}, {}, {}]);
  const boot = { name: 'boot', kind: 'boot' as const, status: 'pass' as const, durationMs: 0 };
  e.judge(boot);
  const p2 = { name: 'ns', kind: 'step' as const, status: 'fail' as const, reason: 'kernel reported x', durationMs: 0, findings: [warning] } as Omit<PointResult, 'id'>;
  e.judge(p2);
  t.equal(p2.status, 'pass');
  t.match(p2.reason, /expected finding seen: WARNING in memmap_init_compound/);
  const p3 = { name: 'next', kind: 'step' as const, status: 'miss' as const, durationMs: 0 } as Omit<PointResult, 'id'>;
  e.judge(p3);
  t.equal(p3.status, 'skip');
  t.equal(e.finalPoint()!.status, 'pass');

  const never = new Expectations(title, [{}]);
  never.judge({ name: 's', kind: 'step', status: 'pass', durationMs: 0 });
  t.equal(never.finalPoint()!.status, 'fail', 'a case-level expectation never seen fails the last point');

  const step = new Expectations(undefined, [{ expect: { finding: title } }]);
  const s1 = { name: 's', kind: 'step' as const, status: 'pass' as const, durationMs: 0 } as Omit<PointResult, 'id'>;
  step.judge(s1);
  t.equal(s1.status, 'fail');
  t.match(s1.reason, /did not occur during this step/);
  t.equal(step.finalPoint(), undefined);

  const other = new Expectations('KASAN: x in y', [{}]);
  const s2 = { name: 's', kind: 'step' as const, status: 'fail' as const, durationMs: 0, findings: [warning] } as Omit<PointResult, 'id'>;
  other.judge(s2);
  t.equal(s2.status, 'fail', 'an unexpected finding still fails');
});

t.test('new --from-console: three real captures give the golden scenarios, which load', async (t) => {
  const catalog = await loadCatalog();
  const files = readdirSync(FROM).filter((f) => f.endsWith('.yaml'));
  t.equal(files.length, 3);
  for (const f of files) {
    const name = f.replace(/\.yaml$/, '');
    const text = readFileSync(`${CONSOLES}${name}.log`, 'utf8');
    const { yaml } = scenarioFromConsole(text, { name: `from-${name}`, kernel: 'debian-7.2', source: `${name}.log`, kernelNote: "'debian-7.2' is Debian's 7.2 series (fetch it to compare releases)" });
    t.equal(yaml, readFileSync(`${FROM}${f}`, 'utf8'), `${f} is what the generator writes`);
    const [s] = await loadScenarioFile(`${FROM}${f}`, catalog);
    t.ok(s!.expect?.finding, `${f} expects a finding`);
    t.ok(s!.carveOuts.length, `${f} boots carve-outs`);
    t.equal(s!.steps[0]!.kind, 'ramdax');
  }
  const [beyond] = await loadScenarioFile(`${FROM}real-warning-beyond-ram.yaml`, catalog);
  t.equal(beyond!.machine.memory, 3 * 2 ** 30, 'the guest RAM comes from the firmware map');
  t.equal(beyond!.expect?.finding, 'WARNING in memmap_init_compound');
  t.ok(beyond!.steps.some((s) => s.kind === 'namespace' && (s.params as { mode: string }).mode === 'devdax'), 'dev_dax_probe in the trace: a devdax namespace');
  const [init] = await loadScenarioFile(`${FROM}boot-bad-init.yaml`, catalog);
  t.same(init!.cmdline, ['init=/nonexistent'], 'arguments the harness does not set itself are kept');
});
