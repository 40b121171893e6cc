/**
 * The workload controls, checked on a rendered pod spec (plain JSON). HardenedWorkload runs them
 * at synth time as a construct validation, so changes made through escape hatches (the exposed
 * cdk8s-plus object, JSON patches) are caught too. Returns one message per violation.
 */
export function checkPodSpec(spec: any): string[] {
  const problems: string[] = [];
  if (!spec || typeof spec !== 'object') return ['no pod spec'];
  for (const host of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[host] === true) problems.push(`${host} is true: pods must not share host namespaces (STIG V-242414)`);
  }
  if (!spec.serviceAccountName || spec.serviceAccountName === 'default') {
    problems.push('pods run as the "default" ServiceAccount (BSI APP.4.4.A9)');
  }
  const podSc = spec.securityContext ?? {};
  if (podSc.runAsUser === 0) problems.push('pod securityContext.runAsUser is 0');
  const all = [
    ...(spec.initContainers ?? []).map((c: any) => ({ c, init: true })),
    ...(spec.containers ?? []).map((c: any) => ({ c, init: false })),
  ];
  if ((spec.containers ?? []).length === 0) problems.push('no containers');
  for (const { c, init } of all) {
    const where = `${init ? 'init container' : 'container'} "${c.name}"`;
    const sc = c.securityContext ?? {};
    if (sc.privileged === true) problems.push(`${where}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot is not true`);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) problems.push(`${where}: runs as user 0`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem is writable`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) problems.push(`${where}: capabilities do not drop ALL`);
    if ((sc.capabilities?.add ?? []).some((a: string) => a !== 'NET_BIND_SERVICE')) problems.push(`${where}: adds capabilities beyond NET_BIND_SERVICE`);
    const seccomp = (sc.seccompProfile ?? podSc.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${where}: seccomp profile is not RuntimeDefault or Localhost`);
    const res = c.resources ?? {};
    for (const k of ['cpu', 'memory', 'ephemeral-storage']) {
      if (res.requests?.[k] === undefined) problems.push(`${where}: no ${k} request`);
      if (res.limits?.[k] === undefined) problems.push(`${where}: no ${k} limit`);
    }
    if (!init) {
      if (!c.livenessProbe) problems.push(`${where}: no liveness probe (BSI APP.4.4.A11)`);
      if (!c.readinessProbe) problems.push(`${where}: no readiness probe (BSI APP.4.4.A11)`);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef) problems.push(`${where}: env ${e.name} comes from a Secret (STIG V-242415)`);
    }
    for (const e of c.envFrom ?? []) {
      if (e.secretRef) problems.push(`${where}: envFrom a Secret (STIG V-242415)`);
    }
    for (const p of c.ports ?? []) {
      if (p.hostPort !== undefined && p.hostPort !== 0 && p.hostPort < 1024) problems.push(`${where}: host port ${p.hostPort} below 1024 (STIG V-242414)`);
    }
  }
  for (const v of spec.volumes ?? []) {
    if (v.hostPath) problems.push(`volume "${v.name}": hostPath`);
  }
  return problems;
}
