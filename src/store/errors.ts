import { AppError } from '../errors.js';

/** The field a 422 from the store names (e.g. `login` for a duplicate user), if it is one. */
export function validationErrorField(err: unknown): string | undefined {
  if (err instanceof AppError && err.fieldErrors) return Object.keys(err.fieldErrors)[0];
  return undefined;
}
