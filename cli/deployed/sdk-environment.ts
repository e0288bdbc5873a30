/**
 * The AWS SDK warns on every CLI run under Node 20 that *future* SDK releases will need Node 22.
 * Our SDK versions are pinned (package.json), so the warning says nothing about this install and
 * would land in every operator's terminal and log; an operator who sets the variable keeps theirs.
 */
export function quietSdkNodeVersionWarning(): void {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
}
