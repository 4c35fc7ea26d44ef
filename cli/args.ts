import { InvalidArgumentError } from 'commander';

/** An image as `repository@sha256:…` or `repository:tag`, the way docker and skopeo name them. */
export type ImageRef =
  { readonly repository: string; readonly digest: string } | { readonly repository: string; readonly tag: string };

const digestPattern = /^sha256:[a-f0-9]{64}$/;
// OCI distribution spec's repository grammar (lowercase path components) and tag grammar.
const repositoryPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

function checkRepository(repository: string, text: string): string {
  if (!repositoryPattern.test(repository))
    throw new InvalidArgumentError(`"${text}": "${repository}" is not a repository name (lowercase, "/"-separated).`);
  return repository;
}

/** Parses an image argument; a commander argument parser, so mistakes are usage errors (exit 1). */
export function parseImage(text: string): ImageRef {
  const at = text.indexOf('@');
  if (at >= 0) {
    const digest = text.slice(at + 1);
    if (!digestPattern.test(digest))
      throw new InvalidArgumentError(`"${text}": the digest must be sha256: followed by 64 lowercase hex digits.`);
    return { repository: checkRepository(text.slice(0, at), text), digest };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) throw new InvalidArgumentError(`"${text}": give repository:tag or repository@sha256:….`);
  const tag = text.slice(colon + 1);
  if (!tagPattern.test(tag)) throw new InvalidArgumentError(`"${text}": "${tag}" is not a valid tag.`);
  return { repository: checkRepository(text.slice(0, colon), text), tag };
}

/** Like parseImage, for commands that address a recorded conversion, which is keyed by digest. */
export interface DigestImage {
  readonly repository: string;
  readonly digest: string;
}

export function parseDigestImage(text: string): DigestImage {
  const image = parseImage(text);
  if (!('digest' in image))
    throw new InvalidArgumentError(`"${text}": give repository@sha256:… (conversions are recorded per digest).`);
  return image;
}

export function parsePositiveNumber(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`"${text}" is not a positive number.`);
  return value;
}

export function parsePositiveInteger(text: string): number {
  const value = parsePositiveNumber(text);
  if (!Number.isInteger(value)) throw new InvalidArgumentError(`"${text}" is not a whole number.`);
  return value;
}

/** What policy evaluate asks about: a repository, optionally with its tag or digest. */
export function parseEvaluationTarget(text: string): ImageRef | { readonly repository: string } {
  if (text.includes(':') || text.includes('@')) return parseImage(text);
  return { repository: checkRepository(text, text) };
}

/** A JSON object given inline; the API validates the fields, this only makes sure it is an object. */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`${what} is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidArgumentError(`${what} must be a JSON object.`);
  return value as Record<string, unknown>;
}

/** ISO 8601 with an offset, as the API's `since` wants; "1h", "30m", "2d" are taken relative to now. */
export function parseSince(text: string, now: Date = new Date()): string {
  const relative = /^(\d+)(s|m|h|d)$/.exec(text);
  if (relative) {
    const seconds = { s: 1, m: 60, h: 3_600, d: 86_400 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(relative[1]) * seconds * 1_000).toISOString();
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(Date.parse(text)))
    throw new InvalidArgumentError(
      `"${text}" is neither an ISO time (2025-01-31T12:00:00Z) nor a duration (30m, 2h, 1d).`,
    );
  return new Date(Date.parse(text)).toISOString();
}
