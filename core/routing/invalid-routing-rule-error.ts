import { InputError } from '../errors/input-error.js';

/** Routing rules GitLab's router would refuse; messages are GitLab's where GitLab has one. */
export class InvalidRoutingRuleError extends InputError {}
