// The goal → skills match of `skills_available_for_goal`: deterministic stems, scores and order.
import { describe, expect, it } from 'vitest';
import { goalWords, skillsForGoal, stemOf } from '../../domain/skill-goal-match.ts';

const skills = [
  {
    name: 'json_transform',
    description: 'Evaluate a JMESPath expression against JSON data.',
    tags: ['json', 'extract'],
  },
  {
    name: 'http_call',
    description: 'One HTTP(S) request; JSON responses parsed.',
    tags: ['fetch', 'web', 'url'],
  },
  { name: 'llm_invoke', description: 'A chat completion.', tags: ['summarise', 'text'] },
];

describe('skills for a goal', () => {
  it('stems: one spelling of -ise/-ize, one ending dropped when three letters remain', () => {
    expect(
      ['summarize', 'summarises', 'fetching', 'fetched', 'requests', 'use', 'https'].map(stemOf),
    ).toEqual(['summaris', 'summaris', 'fetch', 'fetch', 'request', 'use', 'http']);
  });

  it('drops short and common words, keeps each stem once in the order it came', () => {
    expect(goalWords('Fetch the JSON, then fetch it again and SUMMARIZE: it is on the web')).toEqual([
      'fetch',
      'json',
      'summaris',
      'web',
    ]);
  });

  it('scores each skill by the stems it shares with the goal, best first, ties by name, none left out silently', () => {
    const matches = skillsForGoal('Fetch JSON from the web and summarise it', skills);
    expect(matches.map((m) => [m.skill.name, m.score, m.matched])).toEqual([
      ['http_call', 3, ['fetch', 'json', 'web']],
      ['json_transform', 1, ['json']],
      ['llm_invoke', 1, ['summaris']],
    ]);
    expect(skillsForGoal('paint a picture', skills)).toEqual([]);
  });
});
