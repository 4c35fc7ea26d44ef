/**
 * OCI distribution-spec grammar for repository names and digests. Everything that reaches a registry URL passes
 * one of these first, so no caller-supplied text can change the path it is put into.
 */
const repositoryComponent = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
export const repositoryPattern = new RegExp(`^${repositoryComponent}(?:/${repositoryComponent})*$`);
export const digestPattern = /^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/;
export const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** The distribution spec caps a name at 255 characters (registry host included, in practice). */
export const maxRepositoryLength = 255;

export function isRepositoryName(value: string): boolean {
  return value.length <= maxRepositoryLength && repositoryPattern.test(value);
}
export function isDigest(value: string): boolean {
  return digestPattern.test(value);
}
export function isTag(value: string): boolean {
  return tagPattern.test(value);
}

export function assertRepository(value: string): string {
  if (!isRepositoryName(value)) throw new Error(`"${value.slice(0, 300)}" is not an OCI repository name`);
  return value;
}
export function assertDigest(value: string): string {
  if (!isDigest(value)) throw new Error(`"${value.slice(0, 200)}" is not a sha256/sha512 digest`);
  return value;
}
