import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { answerMarkdown, panelEntry, parseWebviewMessage, turnAnswerMarkdown, turnEntry } from "../../src/panel_model";
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
        assert.match(entry.blocks.join(""), /<code>adds<\/code>/);
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
        // Entry ids are strings: a run's ("2") or a turn's read from Codex ("turn-u1").
        assert.deepEqual(parseWebviewMessage({ type: "cancel", id: "2" }), { type: "cancel", id: "2" });
        assert.deepEqual(parseWebviewMessage({ type: "insert", id: "2", block: 0 }), { type: "insert", id: "2", block: 0 });
        assert.equal(parseWebviewMessage({ type: "insert", id: "2" }), undefined);
        assert.equal(parseWebviewMessage({ type: "cancel", id: 2 }), undefined);
        assert.equal(parseWebviewMessage({ type: "eval", code: "x" }), undefined);
        assert.equal(parseWebviewMessage("ready"), undefined);
    });
});

describe("panelEntry: reviews and steps", () => {
    function review(): RunRecord {
        const record = new RunRecord({
            id: 9,
            title: "Review",
            prompt: "",
            origin: { uri: "file:///w/src/lib.rs", label: "src/lib.rs" },
            token: "t",
            review: true,
        });
        record.started(1);
        return record;
    }

    it("a review lists its findings with their lines, not the raw JSON", () => {
        const record = review();
        const answer = '{"findings":[{"startLine":3,"endLine":5,"severity":"warning","message":"off by one","suggestion":null},{"startLine":8,"endLine":8,"severity":"error","message":"panics","suggestion":"x?"}]}';
        record.apply({ kind: "report", codex: { runId: 1, threadId: null, turnId: null, delta: answer.slice(0, 20), seq: 1 } });
        assert.deepEqual(panelEntry(record).entry.blocks, []);
        record.apply({ kind: "end", codex: { runId: 1, status: "completed", assistantText: answer, findings: 2 } });
        const { entry } = panelEntry(record);
        assert.deepEqual(entry.blocks, []);
        assert.deepEqual(entry.findingList, [
            { lines: "lines 3-5", severity: "warning", message: "off by one" },
            { lines: "line 8", severity: "error", message: "panics", suggestion: "x?" },
        ]);
    });

    it("a review whose answer is not JSON shows the answer", () => {
        const record = review();
        record.apply({ kind: "end", codex: { runId: 1, status: "completed", assistantText: "I could not review it." } });
        assert.match(panelEntry(record).entry.blocks.join(""), /could not review/);
    });

    it("shows the steps without their diffs, and the current step as the status", () => {
        const record = run(false);
        record.started(1);
        record.apply({
            kind: "report",
            message: "Editing src/lib.rs",
            codex: {
                runId: 1, threadId: null, turnId: null, delta: "", seq: 1,
                items: [{ id: "f", type: "fileChange", status: "inProgress", title: "Editing src/lib.rs", changes: [{ path: "src/lib.rs", kind: "update", diff: "@@\n-a\n+b\n" }] }],
            },
        });
        const { entry } = panelEntry(record);
        assert.equal(entry.statusLabel, "Editing src/lib.rs");
        assert.equal(entry.currentStep, "Editing src/lib.rs");
        assert.deepEqual(entry.steps[0]?.changes, [{ path: "src/lib.rs", kind: "update" }]);
    });
});

describe("parseWebviewMessage: steps and findings", () => {
    it("reads openDiff and revealFinding", () => {
        assert.deepEqual(parseWebviewMessage({ type: "openDiff", id: "1", step: "f", change: 0 }), { type: "openDiff", id: "1", step: "f", change: 0 });
        assert.deepEqual(parseWebviewMessage({ type: "revealFinding", id: "1", finding: 2 }), { type: "revealFinding", id: "1", finding: 2 });
        assert.equal(parseWebviewMessage({ type: "openDiff", id: "1", step: 3, change: 0 }), undefined);
    });
});

describe("the conversation's entries", () => {
    it("a run's entry shows the question with the selection, the steers, and Retry once done", () => {
        const record = new RunRecord({
            id: 7,
            title: "Ask",
            prompt: "Why?",
            origin: { uri: "file:///w/a.rs", label: "a.rs", lines: { start: 0, end: 1 }, excerpt: "fn a() {\n}" },
            token: "t",
        });
        record.started(1);
        record.steers.push("Shorter, please");
        const going = panelEntry(record).entry;
        assert.equal(going.id, "7");
        assert.equal(going.excerpt, "fn a() {\n}");
        assert.deepEqual(going.steers, ["Shorter, please"]);
        assert.equal(going.retry, false);
        record.apply({ kind: "end", codex: { runId: 1, status: "completed", assistantText: "Because." } });
        assert.equal(panelEntry(record).entry.retry, true);
    });

    it("a proposed edit offers Accept and Reject until it is decided", () => {
        const record = run(true);
        record.started(1);
        record.apply({
            kind: "end",
            codex: { runId: 1, status: "completed", edit: { status: "proposed", replacement: "x", explanation: "e" } },
        });
        let entry = panelEntry(record).entry;
        assert.equal(entry.proposal, true);
        assert.match(entry.edit?.status ?? "", /proposed/i);
        record.proposalOutcome = "applied";
        entry = panelEntry(record).entry;
        assert.equal(entry.proposal, undefined);
        assert.equal(entry.edit?.status, "Proposed edit accepted");
    });

    it("a turn read from Codex shows its question, steps and answer, and Retry", () => {
        const { entry, codeBlocks } = turnEntry(
            {
                turnId: "u1",
                prompt: "What does it do?",
                title: "",
                status: "completed",
                answer: "It sums.\n\n```rust\nlet s = 1;\n```\n",
                items: [{ id: "c1", type: "command", status: "completed", title: "Ran `ls`", output: "a\n" }],
                startedAt: 1,
            },
            "src/lib.rs",
        );
        assert.equal(entry.id, "turn-u1");
        assert.equal(entry.title, "You asked");
        assert.equal(entry.prompt, "What does it do?");
        assert.equal(entry.scope, "src/lib.rs");
        assert.equal(entry.phase, "completed");
        assert.equal(entry.active, false);
        assert.equal(entry.retry, true);
        assert.deepEqual(entry.steps.map((step) => [step.title, step.output]), [["Ran `ls`", "a\n"]]);
        assert.deepEqual(codeBlocks, ["let s = 1;\n"]);
    });

    it("an edit turn read from Codex shows its explanation and replacement, not its JSON", () => {
        const answer = JSON.stringify({ explanation: "Uses `sum`.", replacement: "    values.iter().sum()\n" });
        const { entry, codeBlocks } = turnEntry(
            { turnId: "u3", prompt: "Simplify", title: "Simplify", status: "completed", answer, items: [], startedAt: 1 },
            "src/lib.rs",
        );
        assert.doesNotMatch(entry.blocks.join(""), /replacement/);
        assert.deepEqual(codeBlocks, ["    values.iter().sum()\n"]);
        assert.equal(turnAnswerMarkdown("[1, 2]"), "[1, 2]");
        assert.equal(turnAnswerMarkdown("plain"), "plain");
    });

    it("a turn still running elsewhere has no Retry", () => {
        const { entry } = turnEntry({ turnId: "u2", prompt: "q", title: "Ask", status: "inProgress", answer: "", items: [], startedAt: null }, "a");
        assert.equal(entry.phase, "running");
        assert.equal(entry.retry, false);
    });

    it("reads the conversation's buttons and the follow-up text", () => {
        for (const type of ["fork", "undo", "newConversation", "pickConversation", "clear"]) {
            assert.deepEqual(parseWebviewMessage({ type }), { type });
        }
        for (const type of ["retry", "acceptProposal", "rejectProposal", "openProposal"]) {
            assert.deepEqual(parseWebviewMessage({ type, id: "turn-u1" }), { type, id: "turn-u1" });
        }
        assert.deepEqual(parseWebviewMessage({ type: "send", text: "And then?" }), { type: "send", text: "And then?" });
        assert.equal(parseWebviewMessage({ type: "send", text: "   " }), undefined);
        assert.equal(parseWebviewMessage({ type: "retry" }), undefined);
    });
});
