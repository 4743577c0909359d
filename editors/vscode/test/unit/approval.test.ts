import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { REVIEW_CHANGES, approvalDialog, decisionOf } from "../../src/approval";
import type { ApprovalRequest } from "../../src/lsp_ext";

const command: ApprovalRequest = {
    runId: 1,
    kind: "command",
    title: "Codex wants to run a command",
    command: "echo hi > f.txt",
    cwd: "/w",
    reason: "The test wants a file",
    decisions: ["accept", "acceptForSession", "decline"],
};

describe("approvalDialog", () => {
    it("names the command, its directory and the reason, and offers the server's decisions", () => {
        assert.deepEqual(approvalDialog(command), {
            message: "Codex wants to run a command",
            detail: "$ echo hi > f.txt\nin /w\n\nReason: The test wants a file",
            buttons: ["Accept", "Accept for session", "Decline"],
        });
    });

    it("offers Review changes first for a file change, and lists the files", () => {
        const dialog = approvalDialog({
            runId: 1,
            kind: "fileChange",
            title: "Codex wants to change files",
            changes: [{ path: "src/lib.rs", kind: "update", diff: "" }],
            decisions: ["accept", "decline"],
        });
        assert.deepEqual(dialog.buttons, [REVIEW_CHANGES, "Accept", "Decline"]);
        assert.equal(dialog.detail, "update src/lib.rs");
    });
});

describe("decisionOf", () => {
    it("maps a button to its decision and anything else to decline (fail closed)", () => {
        assert.equal(decisionOf(command, "Accept for session"), "acceptForSession");
        assert.equal(decisionOf(command, undefined), "decline");
        assert.equal(decisionOf(command, REVIEW_CHANGES), "decline");
        assert.equal(decisionOf({ ...command, decisions: ["decline"] }, "Accept"), "decline");
    });
});
