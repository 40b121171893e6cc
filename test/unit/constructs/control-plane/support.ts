// Shared helpers for the control-plane construct tests.
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { HardenedControlPlane, HardenedControlPlaneProps } from '../../../../constructs/control-plane';
import type { KubeObject, NodeFile } from '../../../../policies/model';

export function build(props: HardenedControlPlaneProps = {}): HardenedControlPlane {
  const app = new App({ outdir: '/nonexistent-hcb-test' });
  return new HardenedControlPlane(app, 'cp', {
    admission: { podSecurity: { evaluationDate: '2026-01-15' } },
    ...props,
  });
}

/** Builds and returns the thrown error (fails the test when nothing is thrown). */
export function buildError(props: HardenedControlPlaneProps): Error {
  try {
    build(props);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`expected construction to fail for ${JSON.stringify(props)}`);
}

export function file(cp: HardenedControlPlane, path: string): NodeFile {
  const f = cp.nodeFiles.find((x) => x.path === path);
  if (!f) throw new Error(`no node file ${path}`);
  return f;
}

export function docs(text: string): KubeObject[] {
  return parseAllDocuments(text).map((d) => d.toJS() as KubeObject);
}

export function kubeadmDocs(cp: HardenedControlPlane): KubeObject[] {
  const f = cp.nodeFiles.find((x) => x.role === 'kubeadm-config');
  if (!f?.content) throw new Error('no kubeadm config');
  return docs(f.content);
}

export function kind(objects: KubeObject[], k: string): KubeObject & Record<string, any> {
  const o = objects.find((x) => x.kind === k);
  if (!o) throw new Error(`no ${k}`);
  return o as KubeObject & Record<string, any>;
}

type Component = 'apiServer' | 'controllerManager' | 'scheduler' | 'etcd';

/** All extraArgs of a component in the rendered ClusterConfiguration, as a map. */
export function args(cp: HardenedControlPlane, component: Component): Record<string, string> {
  const cc = kind(kubeadmDocs(cp), 'ClusterConfiguration');
  const list: Array<{ name: string; value: string }> =
    component === 'etcd' ? cc.etcd.local.extraArgs : cc[component].extraArgs;
  const out: Record<string, string> = {};
  for (const a of list) {
    if (a.name in out) throw new Error(`duplicate flag ${a.name}`);
    out[a.name] = a.value;
  }
  return out;
}
