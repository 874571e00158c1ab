// json_transform: a JMESPath expression over JSON data, through the `jmespath` package.
// An expression that does not parse, or fails on the data (a wrong argument type or count),
// is a non-retryable INVALID_INPUT: the same data and expression always fail the same way.
import jmespath from 'jmespath';
import { z } from 'zod';
import { builtinDefaultRetry } from '../../domain/skill-catalog.ts';
import { failure, type SkillDescriptor } from './registry.ts';

export const jsonTransformInputSchema = z.strictObject({
  expression: z.string().min(1).max(10_000),
  data: z.json(),
});
export type JsonTransformInput = z.infer<typeof jsonTransformInputSchema>;

export const jsonTransformOutputSchema = z.strictObject({
  /** null when the expression selects nothing. */
  result: z.json().nullable(),
});
export type JsonTransformOutput = z.infer<typeof jsonTransformOutputSchema>;

export function createJsonTransformDescriptor(): SkillDescriptor<JsonTransformInput, JsonTransformOutput> {
  return {
    name: 'json_transform',
    version: '1.0.0',
    description: 'Evaluate a JMESPath expression against JSON data.',
    inputSchema: jsonTransformInputSchema,
    outputSchema: jsonTransformOutputSchema,
    costModel: 'No provider charge. Estimators: 0 micros and 10 ms per call (domain/estimate.ts).',
    defaultRetry: builtinDefaultRetry('json_transform'),
    sideEffecting: false,
    async invoke(input) {
      let result: unknown;
      try {
        result = jmespath.search(input.data, input.expression);
      } catch (error) {
        const name = error instanceof Error ? error.name : 'Error';
        const message = error instanceof Error ? error.message : String(error);
        const what =
          name === 'ParserError' || name === 'LexerError'
            ? 'invalid JMESPath expression'
            : 'the JMESPath expression failed on the data';
        return failure('INVALID_INPUT', `${what}: ${name === 'Error' ? '' : `${name}: `}${message}`);
      }
      return { ok: true, output: { result: (result ?? null) as JsonTransformOutput['result'] } };
    },
  };
}
