import { Command } from '../command';

/** Every `hcb` subcommand, in the order `hcb --help` lists them. Add one line per command. */
export const COMMANDS: Command[] = [
  (require('./audit') as typeof import('./audit')).command,
  (require('./report') as typeof import('./report')).command,
];
