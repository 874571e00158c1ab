// Who did it, in the original AOS's terms (actor_type: system, user, agent, scheduler),
// from the event's metadata.actor ("<role>:<key id>" for API keys, "executor:<owner>").
export function actorOf(metadataActor: string | undefined): { actorType: string; actorId: string | null } {
  if (!metadataActor) return { actorType: 'system', actorId: null };
  const [kind, ...rest] = metadataActor.split(':');
  const id = rest.join(':') || null;
  if (kind === 'executor') return { actorType: 'scheduler', actorId: id };
  if (kind === 'system') return { actorType: 'system', actorId: id };
  return { actorType: 'user', actorId: id };
}
