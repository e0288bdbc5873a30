import { InputError } from '../../errors/input-error.js';

/** A worker catalog that cannot be read, parsed, or has an entry of the wrong shape. */
export class CatalogError extends InputError {}
