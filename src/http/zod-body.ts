// Request bodies of the accounts API: one zod schema per body is both the validator and, as
// JSON schema, the OpenAPI description. Wrong types and unknown keys are 422s per field in
// Foreman's shape; nothing is coerced (`"role": 1` is an error, not "1").
import type { FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import { validationError, type FieldErrors } from '../errors.js';

export function fieldErrorsOf(error: z.ZodError): FieldErrors {
  const errors: FieldErrors = {};
  const add = (field: string, message: string) => (errors[field] ??= []).push(message);
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add(key, 'is not a known attribute');
      continue;
    }
    const field = issue.path.length ? issue.path.map(String).join('.') : 'base';
    add(field, field === 'base' ? 'the request body must be a JSON object' : issue.message);
  }
  return errors;
}

/**
 * Foreman wraps attributes in the resource's name (`{"user":{…}}`) and also accepts them bare;
 * so does keyholder.
 */
function unwrap(body: unknown, wrapper: string | undefined): unknown {
  if (!wrapper || typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const keys = Object.keys(body);
  const inner = (body as Record<string, unknown>)[wrapper];
  return keys.length === 1 && keys[0] === wrapper && typeof inner === 'object' ? inner : body;
}

export function parseBody<T extends z.ZodType>(schema: T, body: unknown, wrapper?: string): z.output<T> {
  const result = schema.safeParse(unwrap(body, wrapper));
  if (!result.success) throw validationError(fieldErrorsOf(result.error));
  return result.data;
}

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return json;
}

/**
 * Route options for a zod-validated body: `schema.body` documents it, and the route's own
 * validator runs the zod schema (fastify's ajv would coerce types and word errors its way).
 */
export function zodBody<T extends z.ZodType>(schema: T, wrapper?: string) {
  const validatorCompiler: FastifySchemaCompiler<unknown> = ({ httpPart }) =>
    httpPart === 'body'
      ? (data: unknown) => {
          const result = schema.safeParse(unwrap(data, wrapper));
          return result.success
            ? { value: result.data }
            : { error: validationError(fieldErrorsOf(result.error)) };
        }
      : (data: unknown) => ({ value: data });
  return { body: jsonSchemaOf(schema), validatorCompiler };
}
