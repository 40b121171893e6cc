import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';
import { PodSecurityExemption } from './pod-security-exemption';

/** Pod Security Standards levels accepted as cluster defaults ('privileged' is not). */
export type PodSecurityLevel = 'baseline' | 'restricted';

export interface PodSecurityAdmissionProps {
  /**
   * Cluster-wide default enforce level for namespaces without their own label. 'baseline'
   * admits containers running as root and fails HCB-ADMISSION-POD-SECURITY-RESTRICTED (STIG
   * V-242437 requires non-root pods).
   * @default 'restricted' (every profile)
   */
  readonly enforce?: PodSecurityLevel;
  /** Level recorded in audit annotations. @default 'restricted' */
  readonly audit?: PodSecurityLevel;
  /** Level returned as warnings to clients. @default 'restricted' */
  readonly warn?: PodSecurityLevel;
  /**
   * Policy version pinned for all three modes ('v1.N'), so an upgrade does not silently change
   * what is enforced; 'latest' is not accepted.
   * @default - the cluster's minor version, e.g. 'v1.36' for v1.36.3
   */
  readonly version?: string;
  /**
   * Reviewed exemptions; the only way to exempt anything. The catalogue
   * (HCB-ADMISSION-POD-SECURITY-DEFAULTS/-RESTRICTED) fails every username and RuntimeClass
   * exemption and every exempt namespace other than kube-system: each lets pods past all
   * checks (a controller's service account, every pod it creates).
   * @default - none
   */
  readonly exemptions?: PodSecurityExemption[];
  /**
   * Date (YYYY-MM-DD, UTC) against which exemption expiry is checked.
   * @default - today (UTC)
   */
  readonly evaluationDate?: string;
}

/** Settings of the surrounding cluster that the plugin depends on. */
export interface PodSecurityAdmissionContext {
  /** e.g. 'v1.36.3'. */
  readonly kubernetesVersion: string;
  readonly profile: 'basic' | 'standard' | 'high';
}

const LEVELS: readonly PodSecurityLevel[] = ['baseline', 'restricted'];
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The PodSecurity admission plugin's configuration (pod-security.admission.config.k8s.io/v1
 * PodSecurityConfiguration): defaults for namespaces without labels and the reviewed
 * exemptions. Rendered inside the AdmissionConfiguration file.
 */
export class PodSecurityAdmission extends Construct {
  public readonly enforce: PodSecurityLevel;
  public readonly audit: PodSecurityLevel;
  public readonly warn: PodSecurityLevel;
  public readonly version: string;
  public readonly exemptions: readonly PodSecurityExemption[];

  constructor(
    scope: Construct,
    id: string,
    context: PodSecurityAdmissionContext,
    props: PodSecurityAdmissionProps = {},
  ) {
    super(scope, id);
    this.enforce = this.level('enforce', props.enforce ?? 'restricted');
    this.audit = this.level('audit', props.audit ?? 'restricted');
    this.warn = this.level('warn', props.warn ?? 'restricted');
    const m = /^v(\d+)\.(\d+)\./.exec(context.kubernetesVersion);
    const clusterMinor = m ? Number(m[2]) : Number.MAX_SAFE_INTEGER;
    const version = props.version ?? (m ? `v${m[1]}.${m[2]}` : 'v1.36');
    const vm = /^v1\.(\d+)$/.exec(version);
    if (!vm || Number(vm[1]) > clusterMinor || Number(vm[1]) < 23) {
      throw new BlueprintPropError(
        this,
        'version',
        version,
        `not a pinned policy version the cluster (${context.kubernetesVersion}) knows`,
        `use 'v1.N' with 23 <= N <= ${clusterMinor}`,
      );
    }
    this.version = version;
    const today = props.evaluationDate ?? new Date().toISOString().slice(0, 10);
    if (!ISO_DATE.test(today)) {
      throw new BlueprintPropError(this, 'evaluationDate', today, 'not an ISO date', "write 'YYYY-MM-DD'");
    }
    const exemptions = props.exemptions ?? [];
    const seen = new Set<string>();
    exemptions.forEach((e, i) => {
      const prop = `exemptions[${i}]`;
      if (!(e instanceof PodSecurityExemption)) {
        throw new BlueprintPropError(
          this,
          prop,
          e,
          'not a PodSecurityExemption',
          'create it with PodSecurityExemption.namespace/username/runtimeClass/fromControlException',
        );
      }
      if (!e.name || /\s/.test(e.name)) {
        throw new BlueprintPropError(
          this,
          `${prop}.name`,
          e.name,
          'the exempted name is empty or contains spaces',
          'name exactly one namespace, user or RuntimeClass',
        );
      }
      if (!e.record.justification?.trim()) {
        throw new BlueprintPropError(
          this,
          `${prop}.justification`,
          e.record.justification,
          'an exemption needs a justification',
          'say why the workload cannot meet the policy',
        );
      }
      if (!e.record.owner?.trim()) {
        throw new BlueprintPropError(
          this,
          `${prop}.owner`,
          e.record.owner,
          'an exemption needs an owner',
          'name the team or person answering for it',
        );
      }
      if (!ISO_DATE.test(e.record.expires ?? '') || Number.isNaN(Date.parse(`${e.record.expires}T00:00:00Z`))) {
        throw new BlueprintPropError(
          this,
          `${prop}.expires`,
          e.record.expires,
          'not an ISO date',
          "write the last valid day as 'YYYY-MM-DD'",
        );
      }
      if (e.record.expires < today) {
        throw new BlueprintPropError(
          this,
          `${prop}.expires`,
          e.record.expires,
          `the exemption for ${e.kind} "${e.name}" expired (checked on ${today})`,
          'renew it after review, or remove it and make the workload compliant',
        );
      }
      const key = `${e.kind}/${e.name}`;
      if (seen.has(key)) {
        throw new BlueprintPropError(
          this,
          prop,
          key,
          'the same exemption is given twice',
          'keep one exemption per namespace, user or RuntimeClass',
        );
      }
      seen.add(key);
    });
    this.exemptions = [...exemptions];
  }

  private level(prop: string, value: PodSecurityLevel): PodSecurityLevel {
    if (!LEVELS.includes(value)) {
      throw new BlueprintPropError(
        this,
        prop,
        value,
        "only 'baseline' and 'restricted' are acceptable cluster defaults",
        "use 'restricted' (or 'baseline'); exempt single namespaces with a PodSecurityExemption",
      );
    }
    return value;
  }

  /** The PodSecurityConfiguration object (exemption lists sorted, so output is stable). */
  public toObject(): Record<string, unknown> {
    const names = (kind: string) =>
      this.exemptions
        .filter((e) => e.kind === kind)
        .map((e) => e.name)
        .sort();
    return {
      apiVersion: 'pod-security.admission.config.k8s.io/v1',
      kind: 'PodSecurityConfiguration',
      defaults: {
        enforce: this.enforce,
        'enforce-version': this.version,
        audit: this.audit,
        'audit-version': this.version,
        warn: this.warn,
        'warn-version': this.version,
      },
      exemptions: {
        usernames: names('username'),
        runtimeClasses: names('runtimeClass'),
        namespaces: names('namespace'),
      },
    };
  }
}
