import { ApiObject } from 'cdk8s';
import { KubeCronJob, Quantity } from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';
import { NetworkAllowPolicy } from '../network/allow-policy';
import { NetworkPeer, SERVICE_ACCOUNT_LABEL } from '../network/network-peer';
import { NetworkPort } from '../network/network-port';
import { PodSelection } from '../network/pod-selection';
import { WorkloadIdentity } from '../rbac/workload-identity';
import { stampProvenance } from '../tenant/provenance';
import { HardenedWorkload, printWarningsAtSynth, WARNING_METADATA } from './hardened-workload';
import { isPinnedByDigest, requireImageReference } from './image-reference';
import { MAX_POD_AGE_ANNOTATION, requireMaxPodAge } from './max-pod-age';
import { checkPodSpec } from './pod-template-checks';

export interface PodRestartScheduleProps {
  /** The workload whose pods must not outlive its `maxPodAge`. */
  readonly workload: HardenedWorkload;
  /** Image with `kubectl` in it (pin it by digest). */
  readonly kubectlImage: string;
  /**
   * API server endpoint addresses as /32 or /128 CIDRs (NetworkPolicy cannot select the API
   * server by label; see NetworkPeer.apiServer).
   */
  readonly apiServerEndpoints: string[];
  /**
   * Port of the API server endpoints.
   * @default 6443
   */
  readonly apiServerPort?: number;
}

/**
 * Enforces a workload's maximum pod age (BSI APP.4.4.A21): a CronJob runs
 * `kubectl rollout restart` on it at least twice per maximum age, so no pod lives longer (a
 * rolling restart keeps the application available). The job runs as its own ServiceAccount that
 * may only get and patch this one workload, may reach only the API server, and its pod is
 * hardened like every other.
 */
export class PodRestartSchedule extends Construct {
  /** The cron schedule (UTC). */
  public readonly schedule: string;
  public readonly cronJobName: string;

  constructor(scope: Construct, id: string, props: PodRestartScheduleProps) {
    super(scope, id);
    const w = props.workload;
    if (!(w instanceof HardenedWorkload)) {
      throw new BlueprintPropError(
        this,
        'workload',
        w,
        'is not a HardenedWorkload',
        'pass the HardenedWorkload whose pods must be restarted',
      );
    }
    const age = (ApiObject.of(w.workload).toJson()?.spec?.template?.metadata?.annotations ?? {})[
      MAX_POD_AGE_ANNOTATION
    ];
    if (age === undefined) {
      throw new BlueprintPropError(
        this,
        'workload',
        w.workloadName,
        'the workload declares no maxPodAge',
        'set maxPodAge on the HardenedWorkload, e.g. "24h"',
      );
    }
    const minutes = requireMaxPodAge(this, 'workload.maxPodAge', age);
    this.schedule = cronEvery(Math.floor(minutes / 2));
    const image = requireImageReference(this, 'kubectlImage', props.kubectlImage);
    const warnings: string[] = [];
    if (!isPinnedByDigest(image)) {
      warnings.push(
        `kubectlImage "${image}" is not pinned by digest (@sha256:...); a tag can be moved to other content`,
      );
      this.node.addMetadata(WARNING_METADATA, warnings[0]);
    }
    printWarningsAtSynth(this, warnings);
    const port = props.apiServerPort ?? 6443;
    const ns = w.namespace;
    const name = (this.cronJobName = `${w.workloadName}-restart`);
    const resource = w.kind === 'Deployment' ? 'deployments' : 'statefulsets';

    const identity = new WorkloadIdentity(this, 'Identity', {
      namespace: ns,
      name,
      automountToken: true,
      rules: [{ apiGroup: 'apps', resources: [resource], verbs: ['get', 'patch'], resourceNames: [w.workloadName] }],
    });
    new NetworkAllowPolicy(this, 'ApiServerEgress', {
      namespace: ns,
      name: `${name}-to-apiserver`,
      appliesTo: PodSelection.serviceAccount(identity.serviceAccountName),
      egress: [{ peers: [NetworkPeer.apiServer(props.apiServerEndpoints)], ports: [NetworkPort.tcp(port)] }],
    });
    const sc = {
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    };
    const podSpec = {
      serviceAccountName: identity.serviceAccountName,
      automountServiceAccountToken: true,
      restartPolicy: 'Never',
      hostNetwork: false,
      hostPid: false,
      hostIpc: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'restart',
          image,
          imagePullPolicy: 'IfNotPresent',
          command: ['kubectl', 'rollout', 'restart', `${resource.slice(0, -1)}/${w.workloadName}`, '--namespace', ns],
          resources: {
            requests: {
              cpu: Quantity.fromString('50m'),
              memory: Quantity.fromString('64Mi'),
              'ephemeral-storage': Quantity.fromString('16Mi'),
            },
            limits: {
              cpu: Quantity.fromString('200m'),
              memory: Quantity.fromString('128Mi'),
              'ephemeral-storage': Quantity.fromString('64Mi'),
            },
          },
          securityContext: sc,
        },
      ],
    };
    const job = new KubeCronJob(this, 'CronJob', {
      metadata: { name, namespace: ns },
      spec: {
        schedule: this.schedule,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: 600,
            template: { metadata: { labels: { [SERVICE_ACCOUNT_LABEL]: identity.serviceAccountName } }, spec: podSpec },
          },
        },
      },
    });
    stampProvenance(job);
    this.node.addValidation({
      // A job pod has no probes; every other control applies.
      validate: () =>
        checkPodSpec(job.toJson().spec.jobTemplate.spec.template.spec)
          .filter((p) => !p.includes('probe'))
          .map((p) => `${this.node.path}: ${p}`),
    });
  }
}

/** A cron schedule that fires at least every `minutes` minutes, evenly through the day. */
export function cronEvery(minutes: number): string {
  if (minutes >= 60) {
    const hours = [24, 12, 8, 6, 4, 3, 2, 1].find((h) => h * 60 <= minutes) ?? 1;
    return hours === 24 ? '0 0 * * *' : `0 */${hours} * * *`;
  }
  const step = [30, 20, 15, 12, 10, 6, 5, 4, 3, 2, 1].find((m) => m <= minutes) ?? 1;
  return `*/${step} * * * *`;
}
