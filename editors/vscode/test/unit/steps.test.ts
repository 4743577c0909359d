import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CodexProgress, ItemUpdate } from "../../src/lsp_ext";
import { RunRecord, runsText } from "../../src/run_state";
import { OUTPUT_LIMIT, Steps } from "../../src/steps";

function report(seq: number, items: ItemUpdate[], message?: string, delta = ""): CodexProgress {
    return { kind: "report", message, codex: { runId: 1, threadId: null, turnId: null, delta, seq, items } };
}

function record(): RunRecord {
    const run = new RunRecord({ id: 1, title: "Ask", prompt: "", origin: { uri: "file:///a", label: "a" }, token: "t" });
    run.started(1);
    return run;
}

describe("Steps", () => {
    it("replaces scalars and appends text and output, in the order steps first appeared", () => {
        const steps = new Steps();
        steps.apply([
            { id: "r", type: "reasoning", status: "inProgress", title: "Thinking", text: "Look at " },
            { id: "c", type: "command", status: "inProgress", title: "Running `ls`", command: "ls", outputDelta: "a\n" },
        ]);
        steps.apply([
            { id: "c", type: "command", status: "completed", title: "Ran `ls` (exit 0)", exitCode: 0, outputDelta: "b\n" },
            { id: "r", type: "reasoning", status: "completed", title: "Thought", text: "the tests." },
        ]);
        const [reasoning, command] = steps.list;
        assert.deepEqual([reasoning?.id, command?.id], ["r", "c"]);
        assert.equal(reasoning?.text, "Look at the tests.");
        assert.equal(reasoning?.status, "completed");
        assert.equal(command?.title, "Ran `ls` (exit 0)");
        assert.equal(command?.command, "ls");
        assert.equal(command?.exitCode, 0);
        assert.equal(command?.output, "a\nb\n");
    });

    it("keeps the tail of a long output and says its head is missing", () => {
        const steps = new Steps();
        steps.apply([{ id: "c", type: "command", status: "inProgress", title: "", outputDelta: "x".repeat(OUTPUT_LIMIT) }]);
        steps.apply([{ id: "c", type: "command", status: "inProgress", title: "", outputDelta: "END" }]);
        const [command] = steps.list;
        assert.equal(command?.output.length, OUTPUT_LIMIT);
        assert.ok(command?.output.endsWith("END"));
        assert.equal(command?.outputTruncated, true);
        const skipped = new Steps();
        skipped.apply([{ id: "c", type: "command", status: "inProgress", title: "", outputDelta: "tail", outputSkipped: 4096 }]);
        assert.equal(skipped.list[0]?.outputTruncated, true);
    });

    it("the end's items replace what was streamed", () => {
        const steps = new Steps();
        steps.apply([{ id: "c", type: "command", status: "inProgress", title: "Running", outputDelta: "partial" }]);
        steps.finish([{ id: "c", type: "command", status: "failed", title: "Ran (exit 2)", exitCode: 2, output: "whole output" }]);
        assert.equal(steps.list[0]?.output, "whole output");
        assert.equal(steps.list[0]?.status, "failed");
    });
});

describe("RunRecord with steps", () => {
    it("folds a report's items once, even when the report comes twice", () => {
        const run = record();
        const first = report(1, [{ id: "c", type: "command", status: "inProgress", title: "Running `ls`", outputDelta: "a\n" }], "Running `ls`");
        assert.equal(run.apply(first), true);
        assert.equal(run.apply(first), false);
        assert.equal(run.steps.list[0]?.output, "a\n");
        assert.equal(run.currentStep, "Running `ls`");
    });

    it("a report with only a new step message is a visible change; the end clears it and keeps usage", () => {
        const run = record();
        assert.equal(run.apply(report(1, [], "Thinking: the tests")), true);
        run.apply({
            kind: "end",
            codex: { runId: 1, status: "completed", usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 2, reasoningOutputTokens: 0, totalTokens: 3 } },
        });
        assert.equal(run.currentStep, undefined);
        assert.equal(run.usage?.totalTokens, 3);
    });
});

describe("runsText (the status bar)", () => {
    it("shows the current step, cut to fit, with no icon syntax from the agent's text", () => {
        assert.equal(runsText(1, undefined), "$(sync~spin) Codex: 1 run");
        assert.equal(runsText(1, "Running `cargo test`"), "$(sync~spin) Codex: Running `cargo test`");
        assert.equal(runsText(2, "Thinking"), "$(sync~spin) Codex (2 runs): Thinking");
        assert.ok(!runsText(1, "Running `echo $(whoami)`").includes("$(whoami)"));
        assert.ok(runsText(1, "x".repeat(200)).endsWith("…"));
    });
});
