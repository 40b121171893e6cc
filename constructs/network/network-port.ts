import { Construct } from 'constructs';
import { IntOrString, NetworkPolicyPort } from 'cdk8s-plus-28/lib/imports/k8s';
import { BlueprintPropError } from '../common/errors';

/** Transport protocols a NetworkPolicy can match. */
export type NetworkProtocol = 'TCP' | 'UDP' | 'SCTP';

const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A port (or port range) a network rule allows. Built with the static factories; validated when
 * a construct renders it, so errors name that construct.
 */
export class NetworkPort {
  /** One TCP port. */
  public static tcp(port: number): NetworkPort {
    return new NetworkPort('TCP', port);
  }
  /** One UDP port. */
  public static udp(port: number): NetworkPort {
    return new NetworkPort('UDP', port);
  }
  /** One SCTP port. */
  public static sctp(port: number): NetworkPort {
    return new NetworkPort('SCTP', port);
  }
  /** A TCP port range, both ends included. */
  public static tcpRange(from: number, to: number): NetworkPort {
    return new NetworkPort('TCP', from, to);
  }
  /** A UDP port range, both ends included. */
  public static udpRange(from: number, to: number): NetworkPort {
    return new NetworkPort('UDP', from, to);
  }
  /** A named container port (IANA_SVC_NAME, e.g. 'http'). */
  public static named(name: string, protocol: NetworkProtocol = 'TCP'): NetworkPort {
    return new NetworkPort(protocol, name);
  }

  private constructor(
    public readonly protocol: NetworkProtocol,
    public readonly port: number | string,
    public readonly endPort?: number,
  ) {}

  /** Validates and renders the port; `prop` names where it was given. */
  public render(scope: Construct, prop: string): NetworkPolicyPort {
    if (!['TCP', 'UDP', 'SCTP'].includes(this.protocol)) {
      throw new BlueprintPropError(
        scope,
        `${prop}.protocol`,
        this.protocol,
        'is not a protocol',
        'use TCP, UDP or SCTP',
      );
    }
    if (typeof this.port === 'string') {
      if (this.port.length > 15 || !PORT_NAME.test(this.port) || this.port.includes('--')) {
        throw new BlueprintPropError(
          scope,
          prop,
          this.port,
          'is not a port name (IANA_SVC_NAME)',
          "use at most 15 lower-case letters, digits and single '-', with at least one letter, e.g. 'http'",
        );
      }
      return { protocol: this.protocol, port: IntOrString.fromString(this.port) };
    }
    if (!isPortNumber(this.port)) {
      throw new BlueprintPropError(scope, prop, this.port, 'is not a port number', 'use an integer from 1 to 65535');
    }
    if (this.endPort === undefined) return { protocol: this.protocol, port: IntOrString.fromNumber(this.port) };
    if (!isPortNumber(this.endPort) || this.endPort < this.port) {
      throw new BlueprintPropError(
        scope,
        `${prop}.endPort`,
        this.endPort,
        `is not a port number at or above ${this.port}`,
        'give a range whose end is an integer from the start port to 65535',
      );
    }
    return { protocol: this.protocol, port: IntOrString.fromNumber(this.port), endPort: this.endPort };
  }
}

/** True when `n` is an integer from 1 to 65535. */
export function isPortNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}
