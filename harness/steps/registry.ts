import { benchStep } from './bench.js';
import { daxActiveStep } from './dax-active.js';
import { daxFaultsStep } from './dax-faults.js';
import { devdaxIoStep } from './devdax-io.js';
import { fillStep } from './fill.js';
import { fioStep } from './fio.js';
import { faultBindStep } from './fault-bind.js';
import { mkfsStep } from './mkfs.js';
import { mountStep, umountStep } from './mount.js';
import { namespaceStep } from './namespace.js';
import { raceStep } from './race.js';
import { ramdaxStep } from './ramdax.js';
import { rebootStep } from './reboot.js';
import { runStep } from './run.js';
import { verifyStep } from './verify.js';
import type { StepKind } from './types.js';

/** Every step kind, by the key that names it in a scenario. */
export const STEP_KINDS: ReadonlyMap<string, StepKind<any>> = new Map(
  [ramdaxStep, namespaceStep, mkfsStep, mountStep, umountStep, daxActiveStep, daxFaultsStep, devdaxIoStep, runStep, rebootStep, fioStep, benchStep, fillStep, verifyStep, raceStep, faultBindStep].map((k) => [k.kind, k]),
);
