import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HUNK_GAP, diffSides } from "../../src/unified_diff";

describe("diffSides", () => {
    it("builds both sides of an update from its hunks", () => {
        const diff = "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,3 +1,3 @@\n fn a() {\n-    1\n+    2\n }\n@@ -10,2 +10,2 @@\n-x\n+y\n\\ No newline at end of file\n";
        assert.deepEqual(diffSides({ kind: "update", diff }), {
            before: `fn a() {\n    1\n}\n${HUNK_GAP}\nx\n`,
            after: `fn a() {\n    2\n}\n${HUNK_GAP}\ny\n`,
        });
    });

    it("an added file is all right side, a deleted one all left: their content as it is", () => {
        assert.deepEqual(diffSides({ kind: "add", diff: "a\nb\n" }), { before: "", after: "a\nb\n" });
        assert.deepEqual(diffSides({ kind: "delete", diff: "a\n" }), { before: "a\n", after: "" });
    });

    it("an added file whose content has a line like a hunk header keeps every line (README: content, not a diff)", () => {
        const content = "# Notes\n@@ -1 +1 @@ is how a hunk starts\n-- a signature\n";
        assert.deepEqual(diffSides({ kind: "add", diff: content }), { before: "", after: content });
        assert.deepEqual(diffSides({ kind: "delete", diff: content }), { before: content, after: "" });
    });
});
