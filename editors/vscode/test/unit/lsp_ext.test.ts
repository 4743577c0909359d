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

describe("parseApprovalRequest", () => {
    it("splits a command approval into headline, detail and reason", () => {
        const request = parseApprovalRequest(
            "Codex wants to run a command\n$ cargo test\nin /work/project\nReason: run the tests",
        );
        assert.deepEqual(request, {
            kind: "command",
            headline: "Codex wants to run a command",
            detail: "$ cargo test\nin /work/project\nReason: run the tests",
            reason: "run the tests",
        });
    });

    it("recognises file changes and leaves other messages alone", () => {
        assert.equal(parseApprovalRequest("Codex wants to change files\nsrc/lib.rs")?.kind, "fileChange");
        assert.equal(parseApprovalRequest("Restart the server?"), undefined);
    });
});
