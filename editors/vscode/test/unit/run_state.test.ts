import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AnswerText, RunRecord, describeLines, describeServerRun, phaseLabel, selectedLines, selectionExcerpt } from "../../src/run_state";

function report(seq: number, delta: string, reset = false) {
    return { seq, delta, reset };
}

function record(edits = false): RunRecord {
    return new RunRecord({
        id: 1,
        title: "Explain",
        prompt: "Explain lib.rs",
        origin: { uri: "file:///lib.rs", label: "lib.rs" },
        token: "t",
        edits,
    });
}

describe("AnswerText", () => {
    it("concatenates deltas in order", () => {
        const answer = new AnswerText();
        for (const [i, delta] of ["The ", "answer ", "is ", "42."].entries()) {
            assert.equal(answer.apply(report(i + 1, delta)), true);
        }
        assert.equal(answer.text, "The answer is 42.");
        assert.equal(answer.gap, false);
    });

    it("starts over on a reset", () => {
        const answer = new AnswerText();
        answer.apply(report(1, "first try, "));
        answer.apply(report(2, "abandoned"));
        answer.apply(report(3, "Second ", true));
        answer.apply(report(4, "try."));
        assert.equal(answer.text, "Second try.");
    });

    it("ignores duplicates and notes a missing report", () => {
        const answer = new AnswerText();
        answer.apply(report(1, "a"));
        assert.equal(answer.apply(report(1, "a")), false);
        answer.apply(report(3, "c"));
        assert.equal(answer.text, "ac");
        assert.equal(answer.gap, true);
        answer.finish("abc");
        assert.equal(answer.text, "abc");
        assert.equal(answer.gap, false);
    });

    it("keeps the streamed text when the end has no assistantText", () => {
        const answer = new AnswerText();
        answer.apply(report(1, "partial"));
        answer.finish(undefined);
        assert.equal(answer.text, "partial");
    });
});

describe("RunRecord", () => {
    it("goes from starting to running to completed", () => {
        const run = record();
        assert.equal(run.phase, "starting");
        assert.equal(phaseLabel(run), "Starting…");
        run.started(5);
        assert.equal(run.phase, "running");
        assert.equal(phaseLabel(run), "Thinking…");
        run.apply({ kind: "report", codex: { runId: 5, threadId: null, turnId: null, delta: "Hi", seq: 1 } });
        assert.equal(phaseLabel(run), "Streaming…");
        run.apply({ kind: "end", codex: { runId: 5, status: "completed", assistantText: "Hi there" } }, 10);
        assert.equal(run.phase, "completed");
        assert.equal(run.text, "Hi there");
        assert.equal(run.endedAt, 10);
        assert.equal(run.active, false);
        // Nothing changes a finished run.
        assert.equal(run.apply({ kind: "report", codex: { runId: 5, threadId: null, turnId: null, delta: "x", seq: 2 } }), false);
    });

    it("progress that arrives before the command's answer still counts", () => {
        const run = record();
        run.apply({ kind: "begin", title: "Codex: Explain", message: "lines 2-4", codex: { runId: 9 } });
        run.apply({ kind: "end", codex: { runId: 9, status: "completed", assistantText: "done" } });
        run.started(9);
        assert.equal(run.phase, "completed");
        assert.equal(run.scopeMessage, "lines 2-4");
    });

    it("an interruption the user asked for is a cancel, and has no diagnostic", () => {
        const run = record();
        run.started(1);
        run.requestCancel();
        run.apply({ kind: "end", codex: { runId: 1, status: "interrupted" } });
        assert.equal(run.phase, "cancelled");
        assert.equal(run.hasDiagnostic, false);
    });

    it("a failure reported by the server links to its diagnostic; a client-side one does not", () => {
        const failed = record();
        failed.started(1);
        failed.apply({ kind: "end", codex: { runId: 1, status: "failed", error: { code: "server-error", message: "HTTP 500" } } });
        assert.equal(failed.hasDiagnostic, true);
        assert.equal(phaseLabel(failed), "Failed: server-error");

        const rejected = record();
        rejected.fail({ code: "rejected", message: "document not open" });
        assert.equal(rejected.phase, "failed");
        assert.equal(rejected.hasDiagnostic, false);
    });

    it("an edit run says it is writing the edit", () => {
        const run = record(true);
        run.started(1);
        run.apply({ kind: "report", codex: { runId: 1, threadId: null, turnId: null, delta: "{\"repl", seq: 1 } });
        assert.equal(phaseLabel(run), "Writing the edit…");
    });
});

describe("lines", () => {
    it("a selection ending at column 0 does not include that line", () => {
        assert.deepEqual(selectedLines({ line: 1, character: 0 }, { line: 4, character: 0 }), { start: 1, end: 3 });
        assert.deepEqual(selectedLines({ line: 1, character: 2 }, { line: 1, character: 5 }), { start: 1, end: 1 });
        assert.equal(selectedLines({ line: 1, character: 2 }, { line: 1, character: 2 }), undefined);
    });

    it("describes lines one-based", () => {
        assert.equal(describeLines({ start: 1, end: 3 }), "lines 2-4");
        assert.equal(describeLines({ start: 0, end: 0 }), "line 1");
        assert.equal(describeLines(undefined), "whole file");
    });
});

describe("describeServerRun", () => {
    const modes = new Map([["Translate", "edit"], ["Explain simply", "answer"]]);

    it("names the runs that the server's code actions start", () => {
        assert.deepEqual(describeServerRun("codex.explain", {}, modes), { title: "Explain", edits: false });
        assert.deepEqual(describeServerRun("codex.rewrite", { preset: "simplify" }, modes), {
            title: "Rewrite: simplify",
            edits: true,
        });
        assert.deepEqual(describeServerRun("codex.fix", {}, modes), { title: "Fix", edits: true });
        assert.deepEqual(describeServerRun("codex.review", {}, modes), { title: "Review", edits: false, review: true });
        assert.deepEqual(describeServerRun("codex.run", { prompt: "Why?" }, modes), {
            title: "Ask",
            edits: false,
            prompt: "Why?",
        });
    });

    it("tests edit the file only in edit mode; actions edit when configured so", () => {
        assert.equal(describeServerRun("codex.tests", { mode: "edit" }, modes).edits, true);
        assert.equal(describeServerRun("codex.tests", {}, modes).edits, false);
        assert.deepEqual(describeServerRun("codex.action", { title: "Translate" }, modes), {
            title: "Translate",
            edits: true,
        });
        assert.equal(describeServerRun("codex.action", { title: "Explain simply" }, modes).edits, false);
        assert.equal(describeServerRun("codex.action", { title: "Unknown" }, modes).edits, false);
    });
});

describe("a run's conversation", () => {
    it("keeps the thread and turn its reports name", () => {
        const record = new RunRecord({ id: 1, title: "Ask", prompt: "q", origin: { uri: "file:///a", label: "a" }, token: "t" });
        record.started(1);
        record.apply({ kind: "report", codex: { runId: 1, threadId: null, turnId: null, delta: "", seq: 1 } });
        assert.equal(record.threadId, undefined);
        record.apply({ kind: "report", codex: { runId: 1, threadId: "th", turnId: "u1", delta: "a", seq: 2 } });
        assert.equal(record.threadId, "th");
        assert.equal(record.turnId, "u1");
    });
});

describe("selectionExcerpt", () => {
    it("shows the first lines of the selection, with … when there are more", () => {
        assert.equal(selectionExcerpt("a\nb\n"), "a\nb");
        assert.equal(selectionExcerpt("1\n2\n3\n4\n5\n6\n7\n8\n"), "1\n2\n3\n4\n5\n6\n…");
        assert.equal(selectionExcerpt("  \n\n"), undefined);
    });
});
