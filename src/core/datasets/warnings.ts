import { Location, UserError } from '../errors';

/** Formats a warning's text exactly as a UserError with the same location would be formatted. */
export function formatWarning(message: string, location: Location): string {
  return new UserError(message, location).message;
}
