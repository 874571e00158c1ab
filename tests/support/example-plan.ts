// The run of ARCHITECTURE.md "The contract, by example": two stub steps, the second with
// a retry override.
export const examplePlan = {
  agentId: 'researcher',
  plan: {
    steps: [
      { skill: 'llm_invoke', input: { model: 'stub', prompt: 'Summarise X' } },
      {
        skill: 'json_transform',
        input: { expression: 'items[0]', data: { items: [1, 2] } },
        retry: { maxAttempts: 2 },
      },
    ],
  },
  budget: { maxCostMicros: 2_000_000 },
  seed: 7,
};
