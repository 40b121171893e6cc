/**
 * A fixed CPU-bound workload whose time tells machines apart when their CPU model does not: two
 * VMs both called "AMD EPYC" ran the same `pulumi up` in 87 s and 43.5 s (BENCHMARKS.md, Pulumi).
 * SHA-256 over 64 MiB of a fixed buffer, single-threaded, best of 5 (the least disturbed run).
 * Sections measured on their own (`--only`) print it beside the full run's, so figures from two
 * machines are not compared as if they were one.
 */
import { createHash } from 'crypto';

const BYTES = 64 * 1024 * 1024;

export function calibrationMs(runs = 5): number {
  const buf = Buffer.alloc(BYTES, 0x5a);
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    createHash('sha256').update(buf).digest();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return best;
}

export const CALIBRATION_TEXT = 'SHA-256 of 64 MiB, best of 5, one thread (bench/calibrate.ts)';
