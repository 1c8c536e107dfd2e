/**
 * The architecture of harness/, checked on every `npm test` (npm run lint:deps).
 *
 * A run flows Scenario → Matrix → Plan → VM → Session → Steps → Results →
 * Reporters; the imports go the other way, from the top of this list down.
 * Each folder may import the folders in the layers BELOW its own, never one
 * above, and never a peer in its own layer. Type-only imports count too.
 * Module cycles are forbidden everywhere.
 *
 * Adding a folder: put it in the lowest layer whose imports it satisfies.
 * A check failure names the import that breaks a rule: move the shared type
 * down (usually to model/) or pass the function in, rather than widening a
 * layer. docs/architecture.md describes the same layers in prose.
 */
const LAYERS = [
  // utilities: errors and exit codes, host exec, files, units, the clock, YAML with positions
  ['common'],
  // shared types: results, the case event stream and its fold, statuses and the roll-up rule,
  // guest commands, findings, kernel capabilities, scenario value types
  ['model'],
  // kernel trouble in console text (pure); kernel and image definitions; the SSH guest transport
  ['triage', 'catalog', 'session'],
  // QEMU: argv, the process, console stream, QMP, the one boot watcher
  ['vm'],
  // performance figures, statistics, baselines, scratch disks
  ['perf'],
  // one file per step kind + the registry; steps talk to model's Guest, nothing else
  ['steps'],
  // host setup (packages, kernels, images, keys, probe boots); the scenario language
  ['setup', 'scenario'],
  // cases: ids, filters, the kernel axis, --repeat
  ['matrix'],
  // which cases share a boot; the reporter interface, the case stream, TAP and the log
  ['plan', 'reporters'],
  // the run folder (a reporter on the stream), reproducer bundles, reading runs back, unpacking archives
  ['results'],
  // run --coverage: gcov segments per case, lcov/genhtml at the end of a run, patch coverage
  ['coverage'],
  // report.html, report.txt, metrics.csv/json; portable reproducer archives (they hold report.txt)
  ['report'],
  // boots, steps, shutdowns, the run: the only folder that puts it all together
  ['runner'],
  // kernels from source and bisect (given loadCases/runCases by the CLI)
  ['kbuild'],
  // commands: the composition root
  ['cli'],
];

const folder = (names) => `^harness/(${names.join('|')})/`;

const layerRules = LAYERS.flatMap((layer, i) => {
  const above = LAYERS.slice(i + 1).flat();
  return layer.map((name) => {
    const peers = layer.filter((p) => p !== name);
    const forbidden = [...above, ...peers];
    return {
      name: `layer-${name}`,
      comment: `harness/${name}/ may import only ${LAYERS.slice(0, i).flat().join(', ') || 'nothing in harness'} (layers below it)`,
      severity: 'error',
      from: { path: folder([name]) },
      to: { path: forbidden.length ? folder(forbidden) : '^$' },
    };
  });
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No module cycles: a cycle means two modules are one, or a type belongs lower (model/).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'known-folders-only',
      comment: 'Every folder of harness/ has a layer above; a new folder needs one.',
      severity: 'error',
      from: { path: '^harness/' },
      to: { path: '^harness/', pathNot: folder(LAYERS.flat()) },
    },
    {
      name: 'no-test-code',
      comment: 'The harness never imports tests, benchmarks or their helpers.',
      severity: 'error',
      from: { path: '^harness/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-dev-dependencies',
      comment: 'The harness runs with production dependencies only (tap, typescript, dependency-cruiser are for development).',
      severity: 'error',
      from: { path: '^harness/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(harness|bin|bench|test)/',
    // Type-only imports are dependencies too: a cycle through types is still a cycle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};


