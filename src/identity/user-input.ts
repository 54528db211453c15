// What a login, password and role may be: one definition for the API and the command line.
import { z } from 'zod';
import type { Role } from '../roles.js';

export const ROLE_NAMES = ['viewer', 'operator', 'admin'] as const satisfies readonly Role[];

export const loginSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/,
    'must be 1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
  );

// scrypt's cost grows with the input: an upper bound keeps a login request cheap
export const passwordSchema = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(1024, 'must be at most 1024 characters');

export const roleSchema = z.enum(ROLE_NAMES, { error: `must be one of ${ROLE_NAMES.join(', ')}` });

/** The command line's check of a value, with the same message the API gives. */
export function checkValue<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`${what} ${r.error.issues[0]?.message ?? 'is not valid'}`);
  return r.data;
}
