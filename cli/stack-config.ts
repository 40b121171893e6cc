/**
 * `--stack-config FILE` of hcb synth and hcb verify: the output of `pulumi config --json`, read
 * with a size bound (regular files only) and validated strictly by stacks/spec.ts.
 */
import { programStackSpec, readerFromPulumiConfigJson, stackSpec, StackSpec } from '../stacks/spec';
import { FileRefused, readBoundedFile } from './fs-safe';

/**
 * Reads and validates a stack config file; every problem is a FileRefused naming the file. The
 * spec is the one the stack's program applies (stacks/spec.ts programStackSpec); a hosts stack needs its
 * name (`stack`), as the program gets it from Pulumi.
 */
export async function loadStackConfig(file: string, opts: { stack?: string } = {}): Promise<StackSpec> {
  const text = await readBoundedFile(file, `--stack-config ${file}`);
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (e) {
    // JSON.parse quotes the offending text; a stack config can hold secrets, so only the position.
    const pos = /position (\d+)/.exec((e as Error).message);
    throw new FileRefused(
      `--stack-config ${file}: not valid JSON${pos ? ` (at character ${pos[1]})` : ''}; give the output of \`pulumi config --json\``,
    );
  }
  try {
    // What the stack program applies: with the local node, also the DNS add-on; on hosts, hostsBlueprintSpec.
    return programStackSpec(stackSpec(readerFromPulumiConfigJson(json)), {
      stack: opts.stack,
      binDir: process.env.HCB_TOOLCHAIN_BIN,
    });
  } catch (e) {
    throw new FileRefused(`--stack-config ${file}: ${(e as Error).message}`);
  }
}
