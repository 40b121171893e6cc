/** A subcommand of `hcb`: `run` gets the arguments after the command name, returns the exit code. */
export interface Command {
  name: string;
  summary: string;
  run(args: string[]): Promise<number>;
}
