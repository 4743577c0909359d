import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { panelEntry } from "../../src/panel_model";
import { RunRecord } from "../../src/run_state";
import { blockPatch, entryChanges, textPatch } from "../../src/webview/entry_patch";

function streaming(): RunRecord {
    const run = new RunRecord({ id: 1, title: "Explain", prompt: "", origin: { uri: "file:///a", label: "a" }, token: "t" });
    run.started(1);
    return run;
}

describe("entryChanges (the panel's update model)", () => {
    it("keeps the Cancel button and every finished block while text streams", () => {
        const run = streaming();
        let shown = panelEntry(run).entry;
        const chunks = ["It adds ", "the values.\n\n", "```rust\nlet a", " = 1;\n```\n\n", "Then ", "it returns."];
        for (const [index, delta] of chunks.entries()) {
            run.apply({ kind: "report", codex: { runId: 1, threadId: null, turnId: null, delta, seq: index + 1 } });
            const next = panelEntry(run).entry;
            const changes = entryChanges(shown, next);
            // The Cancel button is neither removed nor added: the node a click presses stays.
            assert.equal(changes.cancel, undefined, `report ${index + 1}`);
            // Only the last block (the one text is added to) is drawn anew.
            for (const { index: block } of changes.blocks.replace) {
                assert.ok(block >= shown.blocks.length - 1, `report ${index + 1} redraws block ${block}`);
            }
            shown = next;
        }
        run.apply({ kind: "end", codex: { runId: 1, status: "interrupted" } });
        assert.equal(entryChanges(shown, panelEntry(run).entry).cancel, "remove");
    });

    it("appends a command's new output and redraws only the steps that changed", () => {
        const run = streaming();
        run.apply({
            kind: "report",
            codex: {
                runId: 1, threadId: null, turnId: null, delta: "", seq: 1,
                items: [
                    { id: "r", type: "reasoning", status: "completed", title: "Thought", text: "x" },
                    { id: "c", type: "command", status: "inProgress", title: "Running", outputDelta: "one\n" },
                ],
            },
        });
        const before = panelEntry(run).entry;
        run.apply({
            kind: "report",
            codex: { runId: 1, threadId: null, turnId: null, delta: "", seq: 2, items: [{ id: "c", type: "command", status: "inProgress", title: "Running", outputDelta: "two\n" }] },
        });
        const changes = entryChanges(before, panelEntry(run).entry);
        assert.deepEqual(changes.steps, []);
        assert.deepEqual(changes.outputs, [{ id: "c", patch: { append: "two\n" } }]);
    });
});

describe("blockPatch and textPatch", () => {
    it("replace only what differs", () => {
        assert.deepEqual(blockPatch(["a", "b"], ["a", "c", "d"]), { replace: [{ index: 1, html: "c" }, { index: 2, html: "d" }], length: 3 });
        assert.deepEqual(blockPatch(["a", "b"], ["a"]), { replace: [], length: 1 });
        assert.deepEqual(textPatch("ab", "abc"), { append: "c" });
        assert.deepEqual(textPatch("abc", "xbc"), { replace: "xbc" });
        assert.equal(textPatch("a", "a"), undefined);
    });
});

describe("entryChanges: a conversation's buttons", () => {
    it("redraws the footer when Retry or a proposal's buttons come or go", () => {
        const run = streaming();
        const going = panelEntry(run).entry;
        run.apply({ kind: "end", codex: { runId: 1, status: "completed", edit: { status: "proposed", replacement: "x", explanation: "" } } });
        const proposed = panelEntry(run).entry;
        assert.equal(entryChanges(going, proposed).footer, true);
        run.proposalOutcome = "discarded";
        const decided = panelEntry(run).entry;
        assert.equal(entryChanges(proposed, decided).footer, true);
        assert.equal(entryChanges(decided, panelEntry(run).entry).footer, false);
    });
});
