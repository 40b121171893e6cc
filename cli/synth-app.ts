/**
 * The cdk8s app of this repository (cdk8s.yaml): `cdk8s synth` writes the default blueprint's
 * cluster objects to cdk8s.out/. For the control-plane files too, use `hcb synth`.
 */
import { App } from 'cdk8s';
import { Blueprint } from '../constructs/blueprint';

const app = new App({ outdir: process.env.CDK8S_OUTDIR ?? 'cdk8s.out' });
new Blueprint(app, 'hcb', { namespaces: [{ name: 'hcb-demo' }] });
app.synth();
