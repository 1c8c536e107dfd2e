import type { Scenario } from '../scenario/load.js';

/** One case to run: a scenario with its matrix (and kernel axis) values applied. */
export interface Case {
  id: string;
  scenario: Scenario;
}
