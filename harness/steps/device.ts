import { z } from 'zod';
import type { StepContext } from './types.js';
import { StepFailure } from './recorder.js';

/** A block device: an earlier namespace's name or an absolute /dev path. */
export const DeviceRef = z.union([
  z.string().regex(/^\/dev\/[A-Za-z0-9._/-]+$/, 'a device is a namespace name or a /dev/... path'),
  z.string().regex(/^[a-z][a-z0-9_]*$/i, 'a device is a namespace name or a /dev/... path'),
]);

export const isRef = (d: string) => !d.startsWith('/');

export function blockDevice(ctx: StepContext, d: string): string {
  if (!isRef(d)) return d;
  const ns = ctx.namespaces.get(d);
  if (!ns) throw new StepFailure(`namespace '${d}' does not exist (was it created, or destroyed since?)`);
  if (!ns.blockdev) throw new StepFailure(`namespace '${d}' (${ns.mode}) has no block device`);
  return `/dev/${ns.blockdev}`;
}

export function charDevice(ctx: StepContext, d: string): string {
  if (!isRef(d)) return d;
  const ns = ctx.namespaces.get(d);
  if (!ns) throw new StepFailure(`namespace '${d}' does not exist (was it created, or destroyed since?)`);
  if (!ns.chardev) throw new StepFailure(`namespace '${d}' (${ns.mode}) has no devdax character device`);
  return `/dev/${ns.chardev}`;
}

/** An absolute guest path without shell-special surprises. */
export const GuestPath = z.string().regex(/^\/[A-Za-z0-9._/+-]*$/, 'write an absolute path of letters, digits and ._/+-');
