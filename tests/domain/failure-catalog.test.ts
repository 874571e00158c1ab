// The failure catalog: the shipped default classifies every error code a registered skill
// declares (the contract's `errors`, as GET /v1/skills/:name publishes them) with an entry of
// its own, agreeing with the taxonomy on category; entries match on code, skill, HTTP status and
// message; a malformed catalog is refused naming the field.
import { describe, expect, it } from 'vitest';
import { errorCodes } from '../../domain/errors.ts';
import {
  classifyFailure,
  failureCatalogSchema,
  withFailureCatalogHash,
} from '../../domain/failure-catalog.ts';
import { defaultFailureCatalog } from '../../domain/failure-catalog-default.ts';
import { defaultPriceTable, withPriceTableHash } from '../../domain/pricing.ts';
import { skillContractOf } from '../../domain/skill-contract.ts';
import { createDefaultSkillPort } from '../../infra/skills/index.ts';

const catalog = withFailureCatalogHash(failureCatalogSchema.parse(defaultFailureCatalog));

describe('the shipped failure catalog', () => {
  const skills = createDefaultSkillPort().list();
  const declared = skills.flatMap((skill) =>
    skillContractOf(skill, {
      priceTable: withPriceTableHash(defaultPriceTable),
      limits: { callTimeoutMs: 30_000, maxRequestBytes: 1_000_000, requestsPerMinute: 600 },
      observed: null,
      versions: [skill.version],
    }).errors.map((error) => ({ skill: skill.name, ...error })),
  );

  it('is valid as the PUT route reads it', () => {
    expect(failureCatalogSchema.safeParse(defaultFailureCatalog).success).toBe(true);
    expect(skills.length).toBeGreaterThanOrEqual(5);
    expect(declared.length).toBeGreaterThan(20);
  });

  it.each(declared.map((d) => [d.skill, d.code, d] as const))(
    '%s: %s has an entry of its own, agreeing with the taxonomy',
    (skill, code, declaredError) => {
      const classified = classifyFailure(catalog, { errorCode: code, skill, message: 'any message' });
      expect(classified.entry, `no catalog entry for ${skill} ${code}`).not.toBeNull();
      expect(classified.category).toBe(declaredError.category);
      expect(classified.retry).toBe(declaredError.retryable);
    },
  );
});

describe('classifying a failure', () => {
  const specific = withFailureCatalogHash({
    version: 't',
    entries: failureCatalogSchema.parse({
      version: 't',
      entries: [
        {
          id: 'status',
          match: { errorCode: 'HTTP_4XX', httpStatus: 401 },
          category: 'PERMISSION',
          retry: false,
          recovery: { mode: 'ask_human' },
          confidence: 0.9,
        },
        {
          id: 'pattern',
          match: { errorCode: 'HTTP_4XX', skill: 'llm_invoke', messagePattern: 'context length' },
          category: 'RESOURCE',
          retry: false,
          recovery: { mode: 'reduce_tokens', params: { factor: 0.5 } },
          confidence: 0.7,
        },
      ],
    }).entries,
  });

  it('takes the first entry whose every condition holds', () => {
    const by = (failure: Parameters<typeof classifyFailure>[1]) =>
      classifyFailure(specific, failure).entry?.id;
    expect(by({ errorCode: 'HTTP_4XX', skill: 'http_call', message: 'x', httpStatus: 401 })).toBe('status');
    expect(by({ errorCode: 'HTTP_4XX', skill: 'llm_invoke', message: 'Maximum CONTEXT LENGTH passed' })).toBe(
      'pattern',
    );
    expect(by({ errorCode: 'HTTP_4XX', skill: 'http_call', message: 'context length' })).toBeUndefined();
  });

  it('falls back to the taxonomy when no entry matches', () => {
    expect(
      classifyFailure(specific, { errorCode: 'TIMEOUT', skill: 'http_call', message: 'x' }),
    ).toMatchObject({
      entry: null,
      category: errorCodes.TIMEOUT.category,
      retry: true,
      recovery: { mode: 'retry_later' },
      confidence: 0,
    });
  });

  it('refuses a malformed catalog naming the field', () => {
    const issues = (body: unknown) =>
      failureCatalogSchema.safeParse(body).error?.issues.map((issue) => issue.path.join('.'));
    const entry = {
      id: 'a',
      match: { errorCode: 'TIMEOUT' },
      category: 'TRANSIENT',
      retry: true,
      recovery: { mode: 'retry_later' },
      confidence: 0.5,
    };
    expect(issues({ version: 'v', entries: [{ ...entry, match: { errorCode: 'NOPE' } }] })).toEqual([
      'entries.0.match.errorCode',
    ]);
    expect(
      issues({ version: 'v', entries: [{ ...entry, match: { errorCode: 'TIMEOUT', messagePattern: '(' } }] }),
    ).toEqual(['entries.0.match.messagePattern']);
    expect(issues({ version: 'v', entries: [entry, entry] })).toEqual(['entries.1.id']);
    expect(issues({ version: 'v', entries: [{ ...entry, retry: false }] })).toEqual(['entries.0.retry']);
    expect(
      issues({ version: 'v', entries: [{ ...entry, recovery: { mode: 'fallback_model', params: {} } }] }),
    ).toEqual(['entries.0.recovery.params.model']);
    expect(issues({ version: 'v', entries: [{ ...entry, confidence: 2 }] })).toEqual([
      'entries.0.confidence',
    ]);
  });
});
