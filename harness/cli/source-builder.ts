import type { KernelBuilder } from '../setup/kernels.js';

/**
 * Builds `source:` kernels for setup/ (which sits below kbuild/ and is handed
 * the builder): kbuild (make, git, patches) is loaded only when one is built.
 */
export const buildFromSource: KernelBuilder = async (...a) => (await import('../kbuild/source-kernel.js')).ensureSourceKernel(...a);
