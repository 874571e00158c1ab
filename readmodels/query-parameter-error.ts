// A query parameter the read models cannot serve; the API answers 400 naming it.
export class QueryParameterError extends Error {
  override readonly name = 'QueryParameterError';
  constructor(
    readonly parameter: string,
    readonly reason: string,
  ) {
    super(`${parameter}: ${reason}`);
  }
}
