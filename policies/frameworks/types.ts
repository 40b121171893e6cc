import { Framework } from '../model';

/** One requirement of a framework, with the facts we keep about it and a short topic in our words. */
export interface Requirement {
  id: string;
  topic: string;
}

export interface FrameworkDefinition<R extends Requirement = Requirement> {
  id: Framework;
  name: string;
  /** The edition the IDs refer to. */
  edition: string;
  requirements: readonly R[];
}
