import { Command } from '../command';

/** Every `hcb` subcommand, in the order `hcb --help` lists them. Add one line per command. */
export const COMMANDS: Command[] = [];
