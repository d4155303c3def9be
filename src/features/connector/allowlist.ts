/**
 * Whether `owner/repo` is covered by ALLOWED_REPOS entries (`owner/repo` or `owner/*`). GitHub treats names
 * case-insensitively, so the comparison does too: `Octo/Hive` and `octo/hive` are the same repository.
 */
export function repositoryAllowed(allowed: readonly string[], owner: string, repo: string): boolean {
  const wanted = `${owner}/${repo}`.toLowerCase();
  const wildcard = `${owner}/*`.toLowerCase();
  return allowed.some((entry) => {
    const normalised = entry.toLowerCase();
    return normalised === wanted || normalised === wildcard;
  });
}
