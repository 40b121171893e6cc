import { Command } from '../command';

/* eslint-disable @typescript-eslint/no-require-imports -- each command module is loaded when the list is built, typed by its import */
/** Every `hcb` subcommand, in the order `hcb --help` lists them. Add one line per command. */
export const COMMANDS: Command[] = [
  (require('./synth') as typeof import('./synth')).command,
  (require('./cluster') as typeof import('./cluster')).command,
  (require('./audit') as typeof import('./audit')).command,
  (require('./verify') as typeof import('./verify')).command,
  (require('./backup') as typeof import('./backup')).command,
  (require('./report') as typeof import('./report')).command,
  (require('./controls') as typeof import('./controls')).command,
];
