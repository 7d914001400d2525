import { describe, expect, it } from "vitest";
import { commentMarker, maxCommentLength, previewComment } from "../../scripts/operations/previewComment";

const output =
  'Previewing update (staging):\n+ hcloud:index/server:Server: (create)\n    serverType: "cax11"\nResources:\n    + 62 to create\n\nPolicy Packs run:\n';

describe("the pull-request comment of a preview", () => {
  it("carries the marker, the summary and the whole plan", () => {
    const comment = previewComment({ stack: "staging", ok: true, output, secretValues: ["unrelated-secret-value"] });
    expect(comment.startsWith(commentMarker("staging"))).toBe(true);
    expect(comment).toContain("### `pulumi preview` of **staging**: + 62 to create");
    expect(comment).toContain('serverType: "cax11"');
  });

  it("says that a failed preview failed and changed nothing", () => {
    expect(previewComment({ stack: "prod", ok: false, output: "error: policy violated", secretValues: [] })).toContain(
      ":x: `pulumi preview` of **prod** failed; nothing was changed",
    );
  });

  it("refuses to carry a secret's value", () => {
    expect(() =>
      previewComment({
        stack: "staging",
        ok: true,
        output: `${output}token: 0123456789abcdef`,
        secretValues: ["0123456789abcdef"],
      }),
    ).toThrow("printed the value of 1 secret(s)");
  });

  it("stays within GitHub's comment limit", () => {
    const long = previewComment({ stack: "staging", ok: true, output: output.repeat(5000), secretValues: [] });
    expect(long.length).toBeLessThanOrEqual(maxCommentLength);
    expect(long).toContain("truncated");
  });
});
