/**
 * An input GitLab accepts but that probably does not mean what its author thinks
 * (gitlab-reference §4.3). We evaluate it exactly as GitLab does, so that our mapping always
 * equals GitLab's, and report it so that nobody is surprised; `--strict` refuses it instead.
 */
export interface QueryQuirk {
  readonly code:
    | 'empty-query' // "" matches no worker
    | 'empty-branch' // "|a=b", "a=b||c=d": the empty alternative matches every worker
    | 'trailing-separator' // "a=b|", "a=b&", "a=b,": the empty tail is dropped
    | 'trailing-junk' // "a=b c", "name=a-b", "urgency=hígh": only the leading `attr=values` counts
    | 'later-line' // "foo\nurgency=high": the term is read from a later line
    | 'empty-value' // "urgency=,high": an empty value that no worker has
    | 'boolean-value'; // "has_external_dependencies=TRUE": every value but "true" means false
  readonly message: string;
}
