import { Construct } from 'constructs';
import type { KubeObject, NodeFile } from '../../policies/model';
import { renderYaml } from './render';

/** How a configuration file sits on the node. */
export interface NodeConfigFilePlacement {
  /** Absolute path on the node. */
  readonly path: string;
  /** Permission bits. */
  readonly mode: number;
  /** NodeFile role, e.g. 'audit-policy'. */
  readonly role: string;
  /** True when the materialized file holds secret material. */
  readonly sensitive: boolean;
}

/**
 * A configuration file the blueprint renders for a node (kubeadm, kubelet, API server files).
 * Subclasses build the document in their constructor; `nodeFile` renders it.
 */
export abstract class NodeConfigFile extends Construct {
  public readonly path: string;
  public readonly mode: number;
  public readonly role: string;
  public readonly sensitive: boolean;

  protected constructor(scope: Construct, id: string, placement: NodeConfigFilePlacement) {
    super(scope, id);
    this.path = placement.path;
    this.mode = placement.mode;
    this.role = placement.role;
    this.sensitive = placement.sensitive;
  }

  /** The documents of the file, as plain objects (a fresh copy on each call). */
  public abstract toObjects(): KubeObject[];

  /** One line describing the file, written as its header comment. */
  protected abstract describe(): string;

  /** The rendered YAML text. */
  public render(): string {
    return renderYaml(this.toObjects(), this.describe());
  }

  /** The file as a NodeFile (owner root:root). */
  public get nodeFile(): NodeFile {
    return {
      path: this.path,
      owner: 'root',
      group: 'root',
      mode: this.mode,
      role: this.role,
      content: this.render(),
      sensitive: this.sensitive,
      createdBy: 'blueprint',
    };
  }
}
