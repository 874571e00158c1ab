// Which skills a goal's words point at (the `skills_available_for_goal` query): a deterministic
// match of the goal's words against each skill's name, description and tags. Rules
// (docs/runtime-queries.md): words are runs of letters and digits, lower-cased; words of fewer than
// three letters and common English words are dropped; a word is reduced to a stem by taking
// "ise"/"ize" as one spelling and dropping one ending of "ing", "ed", "es", "s" or "e" when at
// least three letters remain. A skill scores one point per distinct goal stem found among its
// own; skills that score are listed best first, ties by name.

const STOP_WORDS = new Set(
  'the and for with from into onto that this then than them they their there these those what when where which who whom why how are was were been being have has had does did doing can could should would will shall may might must not but nor its our your you all any each some such via per out off over under about after before again also just only very one two'.split(
    ' ',
  ),
);

const ENDINGS = ['ing', 'ed', 'es', 's', 'e'];

export function stemOf(word: string): string {
  const spelled = word.replace(/iz(e|ed|es|ing)$/, 'is$1');
  for (const ending of ENDINGS) {
    if (spelled.endsWith(ending) && spelled.length - ending.length >= 3) {
      return spelled.slice(0, -ending.length);
    }
  }
  return spelled;
}

/** The goal's distinct stems, in the order they first appear. */
export function goalWords(text: string): string[] {
  const words = text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  const kept = words.filter((word) => word.length >= 3 && !STOP_WORDS.has(word));
  return [...new Set(kept.map(stemOf))];
}

export interface MatchableSkill {
  name: string;
  description: string;
  tags: readonly string[];
}

export interface GoalMatch<S extends MatchableSkill> {
  skill: S;
  score: number;
  /** The goal's stems this skill matched, in the goal's order. */
  matched: string[];
}

export function skillsForGoal<S extends MatchableSkill>(goal: string, skills: readonly S[]): GoalMatch<S>[] {
  const wanted = goalWords(goal);
  return skills
    .map((skill) => {
      const own = new Set(
        goalWords([skill.name.replaceAll(/[_.-]/g, ' '), skill.description, ...skill.tags].join(' ')),
      );
      const matched = wanted.filter((word) => own.has(word));
      return { skill, score: matched.length, matched };
    })
    .filter((match) => match.score > 0)
    .sort(
      (a, b) => b.score - a.score || (a.skill.name < b.skill.name ? -1 : a.skill.name > b.skill.name ? 1 : 0),
    );
}
