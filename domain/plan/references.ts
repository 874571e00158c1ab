// References inside a step's input (and the plan's output): `{"$ref": "<JMESPath>"}` is
// replaced by the expression's value, and `${<JMESPath>}` inside a string by its text. Both
// are evaluated over `{input, steps}`, where `steps.<id>` is `{status, output}` of an
// upstream step. Resolution is a pure function of that context, so certification re-resolves
// from the recorded outputs and gets the same input.
import jmespath from 'jmespath';

export type RefContext = { input: Record<string, unknown>; steps: Record<string, unknown> };

interface AstNode {
  type: string;
  name?: string;
  value?: unknown;
  children?: AstNode[];
}

// The package's typings declare only `search`; `compile` parses without evaluating.
const parser = jmespath as unknown as { compile(expression: string): AstNode };

const TEMPLATE = /\$\{([^}]*)\}/g;

/** A found expression and where it sits (`input.prompt`, `output.summary.$ref`). */
export interface FoundExpression {
  path: string;
  expression: string;
}

function isRef(value: unknown): value is { $ref: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && '$ref' in value;
}

/** Every `$ref` and `${…}` expression in a JSON value, with its path below `base`. */
export function expressionsIn(value: unknown, base: string): FoundExpression[] {
  if (typeof value === 'string') {
    return [...value.matchAll(TEMPLATE)].map((match) => ({ path: base, expression: match[1] ?? '' }));
  }
  if (isRef(value)) {
    const expression = typeof value.$ref === 'string' ? value.$ref : '';
    return [{ path: `${base}.$ref`, expression }];
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => expressionsIn(item, `${base}.${index}`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => expressionsIn(item, `${base}.${key}`));
  }
  return [];
}

/** Whether a JSON value holds a `{"$ref": …}` anywhere. */
export function hasRef(value: unknown): boolean {
  if (isRef(value)) return true;
  if (Array.isArray(value)) return value.some(hasRef);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasRef);
  return false;
}

/** Parses an expression; throws with the parser's message when it is malformed. */
export function parseExpression(expression: string): AstNode {
  if (expression.trim().length === 0) throw new Error('the expression is empty');
  return parser.compile(expression);
}

/**
 * Step ids an expression names as `steps.<id>`. An expression that reaches into `steps`
 * otherwise (`steps.*`) names none: it sees only what is upstream anyway.
 */
export function referencedSteps(ast: AstNode): string[] {
  const ids = new Set<string>();
  const visit = (node: AstNode | undefined, parent?: AstNode, index?: number): void => {
    if (!node || typeof node !== 'object') return;
    if (node.type === 'Field' && node.name === 'steps') {
      const next = parent?.type === 'Subexpression' && index === 0 ? parent.children?.[1] : undefined;
      if (next?.type === 'Field' && next.name !== undefined) ids.add(next.name);
    }
    for (const [childIndex, child] of (node.children ?? []).entries()) visit(child, node, childIndex);
  };
  visit(ast);
  return [...ids];
}

/** JMESPath truthiness: null, false, "", [] and {} are false. */
export function isTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

export function evaluate(expression: string, context: RefContext): unknown {
  return jmespath.search(context, expression) ?? null;
}

/** The value with every reference replaced; throws when an expression fails to evaluate. */
export function resolveReferences(value: unknown, context: RefContext): unknown {
  if (typeof value === 'string') {
    const whole = /^\$\{([^}]*)\}$/.exec(value);
    if (whole) return textOf(evaluate(whole[1]!, context));
    return value.replace(TEMPLATE, (_, expression: string) => textOf(evaluate(expression, context)));
  }
  if (isRef(value)) return evaluate(String(value.$ref), context);
  if (Array.isArray(value)) return value.map((item) => resolveReferences(item, context));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, resolveReferences(item, context)]),
    );
  }
  return value;
}

/** A template's text: strings as they are, anything else as JSON. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}
