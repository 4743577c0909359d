import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { answerMarkdown, panelEntry, parseWebviewMessage } from "../../src/panel_model";
import { RunRecord } from "../../src/run_state";

function run(edits: boolean): RunRecord {
    return new RunRecord({
        id: 4,
        title: edits ? "Rewrite: simplify" : "Explain",
        prompt: "p",
        origin: { uri: "file:///w/src/lib.rs", label: "src/lib.rs", lines: { start: 1, end: 3 } },
        token: "t",
        edits,
    });
}

describe("panelEntry", () => {
    it("shows a streamed answer with its scope and status", () => {
        const record = run(false);
        record.started(1);
        record.apply({ kind: "report", codex: { runId: 1, threadId: null, turnId: null, delta: "It `adds`.", seq: 1 } });
        const { entry, codeBlocks } = panelEntry(record);
        assert.equal(entry.scope, "src/lib.rs, lines 2-4");
        assert.equal(entry.statusLabel, "Streaming…");
        assert.equal(entry.active, true);
        assert.match(entry.html, /<code>adds<\/code>/);
        assert.deepEqual(codeBlocks, []);
    });

    it("an edit run shows the explanation and the replacement, not the raw JSON", () => {
        const record = run(true);
        record.started(1);
        record.apply({ kind: "report", codex: { runId: 1, threadId: null, turnId: null, delta: '{"replacement":', seq: 1 } });
        assert.equal(answerMarkdown(record), "");
        record.apply({
            kind: "end",
            codex: {
                runId: 1,
                status: "completed",
                assistantText: '{"replacement":"x","explanation":"e"}',
                edit: { status: "applied", replacement: "let s = v.iter().sum();", explanation: "Uses `sum`." },
            },
        });
        assert.equal(answerMarkdown(record), "Uses `sum`.\n\n```\nlet s = v.iter().sum();\n```\n");
        const { entry, codeBlocks } = panelEntry(record);
        assert.deepEqual(entry.edit, { status: "Edit applied", explanation: "Uses `sum`." });
        assert.deepEqual(codeBlocks, ["let s = v.iter().sum();\n"]);
    });

    it("a fence around a replacement is longer than any backtick run in it", () => {
        const record = run(true);
        record.started(1);
        record.apply({
            kind: "end",
            codex: { runId: 1, status: "completed", edit: { status: "rejected", replacement: "```\n", explanation: "" } },
        });
        assert.equal(answerMarkdown(record), "````\n```\n````\n");
    });

    it("a failure carries its code and the link to the diagnostic", () => {
        const record = run(false);
        record.started(1);
        record.apply({ kind: "end", codex: { runId: 1, status: "failed", error: { code: "server-error", message: "HTTP 500" } } });
        const { entry } = panelEntry(record);
        assert.deepEqual(entry.error, { code: "server-error", message: "HTTP 500" });
        assert.equal(entry.hasDiagnostic, true);
        assert.equal(entry.statusLabel, "Failed: server-error");
    });

    it("a cancel by the user is neutral: no error, no diagnostic link", () => {
        const record = run(false);
        record.started(1);
        record.requestCancel();
        record.apply({
            kind: "end",
            codex: { runId: 1, status: "interrupted", error: { code: "interrupted", message: "the run was cancelled" } },
        });
        const { entry } = panelEntry(record);
        assert.equal(entry.phase, "cancelled");
        assert.equal(entry.statusLabel, "Cancelled");
        assert.equal(entry.error, undefined);
        assert.equal(entry.hasDiagnostic, false);
    });
});

describe("parseWebviewMessage", () => {
    it("accepts the page's messages and nothing else", () => {
        assert.deepEqual(parseWebviewMessage({ type: "ready" }), { type: "ready" });
        assert.deepEqual(parseWebviewMessage({ type: "cancel", id: 2 }), { type: "cancel", id: 2 });
        assert.deepEqual(parseWebviewMessage({ type: "insert", id: 2, block: 0 }), { type: "insert", id: 2, block: 0 });
        assert.equal(parseWebviewMessage({ type: "insert", id: 2 }), undefined);
        assert.equal(parseWebviewMessage({ type: "cancel", id: "2" }), undefined);
        assert.equal(parseWebviewMessage({ type: "eval", code: "x" }), undefined);
        assert.equal(parseWebviewMessage("ready"), undefined);
    });
});
