// The one exception type the domain throws. A decider refuses a command by throwing a
// DomainError: nothing is emitted, and the API maps `code` through the error taxonomy
// (errors.ts) to an HTTP status without guessing from the message.
import { type ErrorCode, errorCodes } from './errors.ts';

export type DomainErrorDetails = Record<string, unknown>;

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly details: DomainErrorDetails;

  constructor(code: ErrorCode, message: string, details: DomainErrorDetails = {}) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return errorCodes[this.code].httpStatus;
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
