import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseApprovalRequest, parseProgress, parseRunStarted, parseStatus } from "../../src/lsp_ext";

describe("parseProgress", () => {
    it("reads begin, report and end payloads", () => {
        assert.deepEqual(
            parseProgress({ kind: "begin", title: "Codex: Explain", cancellable: true, message: "lines 2-4", codex: { runId: 7 } }),
            { kind: "begin", title: "Codex: Explain", message: "lines 2-4", codex: { runId: 7 } },
        );
        assert.deepEqual(
            parseProgress({
                kind: "report",
                message: "The answer",
                codex: { runId: 7, threadId: "t", turnId: "u", delta: "The ", seq: 1 },
            }),
            {
                kind: "report",
                message: "The answer",
                codex: { runId: 7, threadId: "t", turnId: "u", delta: "The ", seq: 1, reset: false },
            },
        );
        assert.deepEqual(
            parseProgress({
                kind: "end",
                message: "failed",
                codex: { runId: 7, status: "failed", error: { code: "server-error", message: "HTTP 500" } },
            }),
            {
                kind: "end",
                message: "failed",
                codex: { runId: 7, status: "failed", error: { code: "server-error", message: "HTTP 500" } },
            },
        );
    });

    it("reads an edit run's outcome and a review's findings", () => {
        const edit = parseProgress({
            kind: "end",
            codex: {
                runId: 1,
                status: "completed",
                assistantText: "{}",
                edit: {
                    status: "applied",
                    replacement: "x",
                    explanation: "why",
                    range: { start: { line: 1, character: 0 }, end: { line: 2, character: 0 } },
                },
                findings: 3,
            },
        });
        assert.equal(edit?.kind, "end");
        if (edit?.kind !== "end") return;
        assert.deepEqual(edit.codex.edit, {
            status: "applied",
            replacement: "x",
            explanation: "why",
            range: { start: { line: 1, character: 0 }, end: { line: 2, character: 0 } },
        });
        assert.equal(edit.codex.findings, 3);
        assert.equal(edit.codex.assistantText, "{}");
    });

    it("ignores payloads that are not codex-ls's", () => {
        assert.equal(parseProgress(null), undefined);
        assert.equal(parseProgress({ kind: "begin", title: "Indexing" }), undefined);
        assert.equal(parseProgress({ kind: "report", codex: { runId: 1, delta: 5, seq: 1 } }), undefined);
        assert.equal(parseProgress({ kind: "report", codex: { runId: -1, delta: "", seq: 1 } }), undefined);
        assert.equal(parseProgress({ kind: "end", codex: { runId: 1, status: "exploded" } }), undefined);
        assert.equal(parseProgress({ kind: "other", codex: { runId: 1 } }), undefined);
    });
});

describe("command answers", () => {
    it("reads RunStarted with a string or number token", () => {
        assert.deepEqual(parseRunStarted({ runId: 3, token: "codex-ls/run/3" }), { runId: 3, token: "codex-ls/run/3" });
        assert.deepEqual(parseRunStarted({ runId: 3, token: 9 }), { runId: 3, token: 9 });
        assert.equal(parseRunStarted({ runId: "3", token: "x" }), undefined);
        assert.equal(parseRunStarted(undefined), undefined);
    });

    it("reads codex.status, with threads when the server sends them", () => {
        const status = parseStatus({
            serverVersion: "0.1.0",
            backend: { state: "ready", codexVersion: "0.169.0", codexPath: "/bin/codex", pid: 42, lastError: null },
            activeRuns: [{ runId: 1, title: "Codex: Explain", uri: "file:///a.rs" }, { bogus: true }],
            threads: [
                { threadId: "t1", scope: "document", uri: "file:///a.rs", turns: 2 },
                { threadId: "t2", scope: "workspace", folder: "file:///w", turns: 1 },
            ],
        });
        assert.deepEqual(status, {
            serverVersion: "0.1.0",
            backend: { state: "ready", codexVersion: "0.169.0", codexPath: "/bin/codex", pid: 42, lastError: null },
            activeRuns: [{ runId: 1, title: "Codex: Explain", uri: "file:///a.rs" }],
            threads: [
                { threadId: "t1", scope: "document", uri: "file:///a.rs", turns: 2 },
                { threadId: "t2", scope: "workspace", folder: "file:///w", turns: 1 },
            ],
        });
        assert.equal(parseStatus({ backend: { state: "dreaming" } }), undefined);
    });
});

describe("parseApprovalRequest (codex/requestApproval)", () => {
    it("reads a command approval and keeps only the decisions it knows", () => {
        assert.deepEqual(
            parseApprovalRequest({
                runId: 3,
                kind: "command",
                title: "Codex wants to run a command",
                command: "cargo test",
                cwd: "/work/project",
                reason: "run the tests",
                decisions: ["accept", "acceptForSession", "teleport", "decline"],
            }),
            {
                runId: 3,
                kind: "command",
                title: "Codex wants to run a command",
                command: "cargo test",
                cwd: "/work/project",
                reason: "run the tests",
                decisions: ["accept", "acceptForSession", "decline"],
            },
        );
    });

    it("reads a file change with its diffs, and refuses what is not an approval", () => {
        const request = parseApprovalRequest({
            runId: 1,
            kind: "fileChange",
            title: "Codex wants to change files",
            changes: [{ path: "src/lib.rs", kind: "update", diff: "@@ -1 +1 @@\n-a\n+b\n" }, { path: 7 }],
            decisions: ["accept", "decline"],
        });
        assert.deepEqual(request?.changes, [{ path: "src/lib.rs", kind: "update", diff: "@@ -1 +1 @@\n-a\n+b\n" }]);
        assert.equal(parseApprovalRequest({ runId: 1, kind: "launchMissiles", decisions: [] }), undefined);
        assert.equal(parseApprovalRequest("Codex wants to run a command\n$ rm -rf /"), undefined);
    });
});

describe("parseProgress: steps and usage (README Streaming)", () => {
    it("reads a report's item updates, skipping malformed ones", () => {
        const progress = parseProgress({
            kind: "report",
            message: "Running `cargo test`",
            codex: {
                runId: 2,
                threadId: "t",
                turnId: "u",
                delta: "",
                seq: 4,
                items: [
                    {
                        id: "call_1",
                        type: "command",
                        status: "inProgress",
                        title: "Running `cargo test`",
                        command: "cargo test",
                        cwd: "/w",
                        outputDelta: "running 3 tests\n",
                        outputSkipped: 10,
                    },
                    { id: "plan", type: "plan", status: "inProgress", title: "Plan", plan: [{ step: "Read", status: "completed" }, { step: "x", status: "?" }] },
                    { id: "bad", type: "teleport", status: "inProgress", title: "?" },
                    { type: "command", status: "completed", title: "no id" },
                ],
            },
        });
        assert.equal(progress?.kind, "report");
        assert.deepEqual(progress?.kind === "report" ? progress.codex.items : undefined, [
            {
                id: "call_1",
                type: "command",
                status: "inProgress",
                title: "Running `cargo test`",
                command: "cargo test",
                cwd: "/w",
                outputDelta: "running 3 tests\n",
                outputSkipped: 10,
            },
            { id: "plan", type: "plan", status: "inProgress", title: "Plan", plan: [{ step: "Read", status: "completed" }] },
        ]);
    });

    it("reads the end's final items and the turn's usage", () => {
        const progress = parseProgress({
            kind: "end",
            codex: {
                runId: 2,
                status: "completed",
                items: [
                    { id: "call_1", type: "command", status: "completed", title: "Ran `false` (exit 1)", command: "false", exitCode: 1, output: "tail" },
                    { id: "fc", type: "fileChange", status: "completed", title: "Edited src/lib.rs", changes: [{ path: "src/lib.rs", kind: "add", diff: "x\n" }] },
                ],
                usage: { inputTokens: 10, cachedInputTokens: 2, outputTokens: 5, reasoningOutputTokens: 1, totalTokens: 15 },
            },
        });
        assert.ok(progress?.kind === "end");
        assert.deepEqual(progress.codex.items, [
            { id: "call_1", type: "command", status: "completed", title: "Ran `false` (exit 1)", command: "false", exitCode: 1, output: "tail" },
            { id: "fc", type: "fileChange", status: "completed", title: "Edited src/lib.rs", changes: [{ path: "src/lib.rs", kind: "add", diff: "x\n" }] },
        ]);
        assert.deepEqual(progress.codex.usage, { inputTokens: 10, cachedInputTokens: 2, outputTokens: 5, reasoningOutputTokens: 1, totalTokens: 15 });
        const partial = parseProgress({ kind: "end", codex: { runId: 2, status: "completed", usage: { inputTokens: 1 } } });
        assert.equal(partial?.kind === "end" ? partial.codex.usage : "x", undefined);
    });
});
