// Builds a parameterised WHERE clause from optional filters: only values travel as
// parameters, column names come from the code.
export class Where {
  readonly params: unknown[] = [];
  private readonly clauses: string[] = [];

  /** Adds `sql` with its `?` bound to `value`; nothing when the value is undefined (no filter). */
  filter(sql: string, value: unknown): this {
    if (value !== undefined) this.clauses.push(sql.replace('?', this.param(value)));
    return this;
  }

  /** Adds a clause whose parameters were bound with `param`. */
  add(sql: string): this {
    this.clauses.push(sql);
    return this;
  }

  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  toString(): string {
    return this.clauses.length === 0 ? '' : `WHERE ${this.clauses.join(' AND ')}`;
  }
}
