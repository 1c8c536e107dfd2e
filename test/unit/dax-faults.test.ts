import t from 'tap';
import { daxFaults, pmdMapped } from '../../harness/steps/dax-faults.js';

// Real lines from /sys/kernel/tracing/trace (Debian 7.2.13, xfs dax=always, TCG).
const PMD = '          xfs_io-366     [000] .....    42.099348: dax_pmd_fault_done: dev 259:0 ino 0x1004 shared WRITE|ALLOW_RETRY|KILLABLE|USER|INTERRUPTIBLE|VMA_LOCK address 0x7fc0dba00000 vm_start 0x7fc0dba00000 vm_end 0x7fc0dbe00000 pgoff 0x0 max_pgoff 0x400 NOPAGE';
const FALLBACK = PMD.replace(/NOPAGE$/, 'FALLBACK');
const PTE = '          xfs_io-366     [000] .....    42.2: dax_pte_fault_done: dev 259:0 ino 0x1004 shared WRITE|ALLOW_RETRY|KILLABLE|USER address 0x7fc0dba01000 pgoff 0x1 NOPAGE';
const INSERT = '          xfs_io-366     [000] .....    42.1: dax_insert_mapping: dev 259:0 ino 0x1004 shared write address 0x7fc0dba01000 radix_entry 0x1e';

t.test('counts PMD and PTE fault completions by result', async (t) => {
  const f = daxFaults([PMD, PMD, FALLBACK, PTE, INSERT, '# tracer: nop', ''].join('\n'));
  t.same(f.pmd, { NOPAGE: 2, FALLBACK: 1 });
  t.same(f.pte, { NOPAGE: 1 });
  t.same(f.events, { dax_pmd_fault_done: 3, dax_pte_fault_done: 1, dax_insert_mapping: 1 });
  t.equal(pmdMapped(f), 2, 'fallbacks are not PMD mappings');
});

t.test('a FALLBACK among several flags still counts as fallback', async (t) => {
  t.equal(pmdMapped(daxFaults(PMD.replace(/NOPAGE$/, 'NOPAGE|FALLBACK'))), 0);
});

t.test('no events: nothing counted (the page-cache control)', async (t) => {
  const f = daxFaults('# tracer: nop\n#\n');
  t.same(f, { pmd: {}, pte: {}, events: {} });
  t.equal(pmdMapped(f), 0);
});
