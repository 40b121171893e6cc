/**
 * The control catalogue: every control of the blueprint, one area per file. Order here is
 * presentation order only; the engine sorts findings by control id.
 */
import { Control } from '../control';
import { API_SERVER_CONTROLS } from './api-server';

export const CATALOGUE: readonly Control[] = [...API_SERVER_CONTROLS];

/** A control by id, or undefined. */
export function controlById(id: string): Control | undefined {
  return CATALOGUE.find((c) => c.id === id);
}
