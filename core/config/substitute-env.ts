/**
 * `${NAME}` in the string values of a parsed configuration file, replaced by the variable's value,
 * so that a password can live in the environment rather than in the file. `$${` stays a literal
 * `${`. An unset variable is a problem naming it (and the key that uses it); an empty one is
 * substituted as empty, as a shell would. Keys are never substituted.
 */
export interface Substitution {
  readonly value: unknown;
  /** Key paths whose value could not be completed, with why. */
  readonly problems: readonly { readonly path: readonly (string | number)[]; readonly message: string }[];
  /** Key paths where a set but empty (or blank) variable was substituted, with its name. */
  readonly empty: readonly { readonly path: readonly (string | number)[]; readonly name: string }[];
}

const REFERENCE = /\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv): Substitution {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const empty: { path: (string | number)[]; name: string }[] = [];
  const visit = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === 'string') {
      return v.replace(REFERENCE, (whole, escaped: string | undefined, name: string) => {
        if (escaped) return whole.slice(1);
        const set = env[name];
        if (set === undefined) problems.push({ path, message: `the environment variable ${name} is not set` });
        else if (set.trim() === '') empty.push({ path, name });
        return set ?? whole;
      });
    }
    if (Array.isArray(v)) return v.map((item, i) => visit(item, [...path, i]));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, visit(item, [...path, k])]));
    return v;
  };
  return { value: visit(value, []), problems, empty };
}
