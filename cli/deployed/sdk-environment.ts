/**
 * The AWS SDK warns on every CLI run under Node 20 that *future* SDK releases will need Node 22.
 * Our SDK versions are pinned (package.json), so the warning says nothing about this install and
 * would land in every operator's terminal and log; an operator who sets the variable keeps theirs.
 */
export function quietSdkNodeVersionWarning(): void {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
}

/**
 * An AWS SDK client package as `import()` gives it: its exports. The SDK is CommonJS, and in the
 * compiled CLI (dist/, esbuild with code splitting) its chunk exports only `default`, the
 * module.exports object, so that `const { SFNClient } = await import(…)` found nothing there and
 * every deployed command failed with "… is not a constructor". Node (and tsx) give the names too.
 */
export function sdkExports<T extends object>(module: T): T {
  const fallback = (module as { default?: unknown }).default;
  return fallback !== null && typeof fallback === 'object' ? (fallback as T) : module;
}
