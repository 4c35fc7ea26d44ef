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

/**
 * Why a text is not a digest, in the OCI image spec's terms (descriptor.md § Digests: `algorithm ":" encoded`;
 * the registered algorithms are sha256, 64 lowercase hex characters, and sha512, 128), or undefined when it is one.
 */
export function digestProblem(value: string): string | undefined {
  if (isDigest(value)) return undefined;
  const colon = value.indexOf(':');
  if (colon <= 0) return 'not a digest: expected algorithm:encoded, e.g. sha256:<64 lowercase hex>';
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  const length = algorithm === 'sha256' ? 64 : algorithm === 'sha512' ? 128 : undefined;
  if (length === undefined)
    return `unsupported digest algorithm "${algorithm.slice(0, 32)}": the OCI image spec registers sha256 and sha512`;
  if (!/^[a-f0-9]*$/.test(encoded)) return `a ${algorithm} digest is lowercase hex (0-9, a-f) after "${algorithm}:"`;
  return `a ${algorithm} digest has ${length} hex characters after "${algorithm}:", not ${encoded.length}`;
}

/** Why a text is not a repository name (distribution spec § Pulling manifests, `<name>`), or undefined. */
export function repositoryProblem(value: string): string | undefined {
  if (isRepositoryName(value)) return undefined;
  if (value.length > maxRepositoryLength) return `a repository name has at most ${maxRepositoryLength} characters`;
  return 'not an OCI repository name: lowercase [a-z0-9] components joined by . _ __ or -, separated by /';
}

export function assertRepository(value: string): string {
  if (!isRepositoryName(value)) throw new Error(`"${value.slice(0, 300)}" is not an OCI repository name`);
  return value;
}
export function assertDigest(value: string): string {
  if (!isDigest(value)) throw new Error(`"${value.slice(0, 200)}" is not a sha256/sha512 digest`);
  return value;
}
