/**
 * The CI engine files in examples/ parse, have the fields their engine needs,
 * run the shard command docs/lab.md documents, and set variables that give
 * every shard exactly once: for each index the engine would run, the shard
 * `--shard auto` computes from them, and the union is the default run.
 */
import t, { type Test } from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { loadCases } from '../../harness/cli/load-cases.js';
import { selectShard, shardFromEnv } from '../../harness/plan/shard.js';
import { cli, root } from '../helpers/cli.js';

const text = (p: string) => readFile(join(root, p), 'utf8');
const doc = async (p: string) => parse(await text(p)) as Record<string, any>;
const docs = await text('docs/lab.md');
const command = /## The command each shard runs[\s\S]*?```sh\n(.+)\n```/.exec(docs)?.[1] ?? '';
const all = await loadCases(['scenarios'], []);

/** Every index of an engine → the cases of that shard; checks union and overlap. */
function coverage(t: Test, envs: Record<string, string>[]) {
  const shards = envs.map((env) => {
    const spec = shardFromEnv(env);
    return selectShard(all, spec).map((c) => c.id);
  });
  const ids = shards.flat();
  t.equal(new Set(ids).size, ids.length, 'no case in two shards');
  t.same([...ids].sort(), all.map((c) => c.id).sort(), `the ${envs.length} shards together are the default run (${all.length} cases)`);
  t.ok(shards.every((s) => s.length > 0), 'no shard idle');
}

t.test('docs/lab.md documents one shard command', async (t) => {
  t.match(command, /^npx ramdax-harness run scenarios\/ --shard auto /);
});

t.test('GitHub Actions: matrix, job-index/job-total, artifacts, merge job', async (t) => {
  const w = await doc('examples/ci/github-actions.yml');
  const shard = w.jobs.shard;
  const n = shard.strategy.matrix.shard.length;
  t.equal(shard.strategy['fail-fast'], false, 'one failing shard does not cancel the others');
  t.equal(shard.env.RAMDAX_SHARD_INDEX, '${{ strategy.job-index }}');
  t.equal(shard.env.RAMDAX_SHARD_TOTAL, '${{ strategy.job-total }}');
  t.match(shard.container.options, /--device \/dev\/kvm/);
  const run = shard.steps.find((s: { run?: string }) => s.run?.includes('--shard'));
  t.equal(run.run, `npx ramdax-harness setup && ${command}`);
  t.ok(shard.steps.some((s: { uses?: string; if?: string }) => s.uses?.startsWith('actions/upload-artifact') && s.if === 'always()'), 'the shard folder is uploaded even when it fails');
  t.equal(w.jobs.merge.needs, 'shard');
  t.equal(w.jobs.merge.if, 'always()');
  t.ok(w.jobs.merge.steps.some((s: { run?: string }) => /npx ramdax-harness merge .* --out /.test(s.run ?? '')), 'merge step');
  coverage(t, Array.from({ length: n }, (_, i) => ({ RAMDAX_SHARD_INDEX: String(i), RAMDAX_SHARD_TOTAL: String(n) })));
});

t.test('GitLab CI: parallel, junit reports, merge needs the shards', async (t) => {
  const g = await doc('examples/ci/gitlab-ci.yml');
  const n = g['ramdax-shard'].parallel;
  t.ok(Number.isInteger(n) && n >= 2, `parallel: ${n}`);
  t.ok(g['ramdax-shard'].script.includes(`npx ramdax-harness setup && ${command}`), 'runs the documented command');
  t.equal(g['ramdax-shard'].artifacts.reports.junit, 'results/*/junit.xml');
  t.equal(g['ramdax-merge'].needs[0].job, 'ramdax-shard');
  t.equal(g['ramdax-merge'].artifacts.reports.junit, 'merged/junit.xml');
  t.same(g.stages, ['test', 'merge']);
  coverage(t, Array.from({ length: n }, (_, i) => ({ CI_NODE_INDEX: String(i + 1), CI_NODE_TOTAL: String(n) })));
});

t.test('Kubernetes: Indexed Job with /dev/kvm when present, results volume, total = completions; merge Job', async (t) => {
  const j = await doc('examples/kubernetes/indexed-job.yaml');
  t.equal(j.apiVersion, 'batch/v1');
  t.equal(j.kind, 'Job');
  t.equal(j.spec.completionMode, 'Indexed');
  const pod = j.spec.template.spec;
  t.equal(pod.restartPolicy, 'Never');
  const c = pod.containers[0];
  t.same(c.command, ['sh', '-c', `npx ramdax-harness setup && ${command}`]);
  const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  t.equal(Number(env.RAMDAX_SHARD_TOTAL), j.spec.completions, 'RAMDAX_SHARD_TOTAL = completions');
  const kvm = pod.volumes.find((v: { name: string }) => v.name === 'kvm');
  t.same(kvm.hostPath, { path: '/dev/kvm', type: '' }, 'hostPath without a type: nodes without KVM still run (TCG)');
  t.ok(c.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/dev/kvm'));
  t.ok(c.volumeMounts.some((m: { mountPath: string }) => env.RAMDAX_HARNESS_RESULTS.startsWith(m.mountPath)), 'results land on a mounted volume');
  const m = await doc('examples/kubernetes/merge-job.yaml');
  t.equal(m.kind, 'Job');
  t.match(m.spec.template.spec.containers[0].command.join(' '), /npx ramdax-harness merge \/results\/shards\/\*\/ --out /);
  coverage(t, Array.from({ length: j.spec.completions }, (_, i) => ({ JOB_COMPLETION_INDEX: String(i), RAMDAX_SHARD_TOTAL: env.RAMDAX_SHARD_TOTAL })));
});

t.test('Containerfile: QEMU, Node 20, the documented command; built where a Docker daemon answers', async (t) => {
  const f = await text('examples/container/Containerfile');
  t.match(f, /^FROM node:20-/m);
  t.match(f, /qemu-system-x86/);
  t.ok(f.includes(`CMD ["sh", "-c", "npx ramdax-harness setup && ${command}"]`), 'default command is the documented one');
  const daemon = await execa('docker', ['info'], { reject: false, timeout: 20_000 }).catch(() => ({ exitCode: -1, stderr: 'no docker client' }));
  if (daemon.exitCode !== 0) {
    t.comment(`container not built: no Docker daemon here (${String(daemon.stderr).split('\n').find((l) => l.trim()) ?? 'docker info failed'})`);
    return;
  }
  const b = await execa('docker', ['build', '-f', 'examples/container/Containerfile', '-t', 'ramdax-harness:test', '.'], { cwd: root, reject: false, timeout: 30 * 60_000 });
  t.equal(b.exitCode, 0, String(b.stderr).slice(-2000));
});

t.test('list --shard auto reads the engine variables end to end', async (t) => {
  const r = await cli(['list', 'scenarios/', '--shard', 'auto', '--json'], { env: { CI_NODE_INDEX: '2', CI_NODE_TOTAL: '2' } });
  t.equal(r.exitCode, 0, String(r.stderr));
  t.match(String(r.stderr), new RegExp(`shard 2/2 \\(CI_NODE_INDEX/CI_NODE_TOTAL \\(GitLab parallel\\), balanced by count\\): ${selectShard(all, { index: 2, total: 2 }).length} of ${all.length} case\\(s\\)`));
  t.same((JSON.parse(String(r.stdout)) as { id: string }[]).map((c) => c.id), selectShard(all, { index: 2, total: 2 }).map((c) => c.id), 'the CLI lists the shard the pure partition gives');
  const bad = await cli(['list', 'scenarios/', '--shard', 'auto'], { env: { JOB_COMPLETION_INDEX: '0' } });
  t.equal(bad.exitCode, 2);
  t.match(String(bad.stderr), /RAMDAX_SHARD_TOTAL is not set/);
});
