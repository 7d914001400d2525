/**
 * The pull-request comment of one stack's preview: what `pulumi preview --diff` printed, under a marker
 * that lets the workflow edit the same comment on every push. It is refused, not posted, when the text
 * holds the value of one of the stack's secrets.
 */

/** GitHub refuses comments over 65,536 characters; keep room for the heading. */
export const maxCommentLength = 64_000;

export const commentMarker = (stack: string) => `<!-- olympus-preview-${stack} -->`;

export interface PreviewOutcome {
  stack: string;
  /** Whether the preview succeeded (policies passed, the program ran). */
  ok: boolean;
  /** Everything the preview printed. */
  output: string;
  /** Values of the stack's secrets, which must never appear in a comment. */
  secretValues: string[];
}

export function previewComment({ stack, ok, output, secretValues }: PreviewOutcome): string {
  // Short values ("", "0") would match anything; real secrets are longer than this.
  const leaked = secretValues.filter((value) => value.length >= 8 && output.includes(value));
  if (leaked.length > 0)
    throw new Error(
      `the preview of ${stack} printed the value of ${leaked.length} secret(s); refusing to write it into a comment`,
    );
  const summary =
    /^Resources:\n((?: {4}.*\n)+)/m
      .exec(output)?.[1]
      ?.trim()
      .replace(/\s*\n\s*/g, ", ") ?? "no summary";
  const heading = ok
    ? `### \`pulumi preview\` of **${stack}**: ${summary}`
    : `### :x: \`pulumi preview\` of **${stack}** failed; nothing was changed`;
  const fence = "```";
  const room = maxCommentLength - heading.length - 200;
  const body =
    output.length > room
      ? `${output.slice(0, room)}\n... (truncated: ${output.length - room} more characters in the workflow log)`
      : output;
  return `${commentMarker(stack)}\n${heading}\n\n<details${ok ? "" : " open"}><summary>Plan</summary>\n\n${fence}diff\n${body}\n${fence}\n</details>\n`;
}
