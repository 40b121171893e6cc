import { Chart, Testing } from 'cdk8s';
import { BlueprintPropError } from '../../../constructs';

/** A synthesized object, loosely typed for assertions. */
export type Obj = { apiVersion: string; kind: string; metadata: any; spec?: any; [k: string]: any };

/** Builds into a fresh test chart and returns the synthesized objects. */
export function synth(build: (chart: Chart) => void): Obj[] {
  const chart = Testing.chart();
  build(chart);
  return Testing.synth(chart) as Obj[];
}

export function ofKind(objs: Obj[], kind: string): Obj[] {
  return objs.filter((o) => o.kind === kind);
}

export function one(objs: Obj[], kind: string, name?: string): Obj {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1)
    throw new Error(`expected exactly one ${kind}${name ? `/${name}` : ''}, found ${found.length}`);
  return found[0];
}

/** Runs `fn`, expects a BlueprintPropError and returns it. */
export function propError(fn: () => unknown): BlueprintPropError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BlueprintPropError) return e;
    throw new Error(`expected BlueprintPropError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected BlueprintPropError, nothing was thrown');
}
