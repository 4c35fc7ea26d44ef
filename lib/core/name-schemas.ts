import { z } from './zod.js';
import { digestProblem, repositoryProblem } from './names.js';

/** A repository name by the distribution grammar, with the reason when it is not one (issue #17 § 3). */
export const repositoryNameSchema = z.string().superRefine((value, context) => {
  const problem = repositoryProblem(value);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
});

/** A digest as the OCI image spec defines it (algorithm and encoded length), with the reason when it is not one. */
export const digestSchema = z.string().superRefine((value, context) => {
  const problem = digestProblem(value);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
});
