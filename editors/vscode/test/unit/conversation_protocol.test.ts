import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
    parseBusyRefusal,
    parseConversation,
    parseConversationList,
    parseProgress,
    parseProposalApplied,
    parseProposalDiscarded,
    parseThreadRef,
    serverFeatures,
} from "../../src/lsp_ext";

const range = { start: { line: 2, character: 0 }, end: { line: 4, character: 0 } };

describe("parseConversation", () => {
    it("reads the turns with their prompts, answers and steps", () => {
        const conversation = parseConversation({
            threadId: "th-1",
            title: "Why does sum overflow?",
            turns: [
                {
                    turnId: "tu-1",
                    prompt: "Why does sum overflow?",
                    title: "Ask",
                    status: "completed",
                    answer: "It adds `i32`s.",
                    items: [{ id: "c1", type: "command", status: "completed", title: "Ran `ls`", output: "a\n" }],
                    startedAt: 1764000000,
                },
                { turnId: "tu-2", prompt: "And now?", status: "inProgress", startedAt: null },
            ],
        });
        assert.deepEqual(conversation, {
            threadId: "th-1",
            title: "Why does sum overflow?",
            turns: [
                {
                    turnId: "tu-1",
                    prompt: "Why does sum overflow?",
                    title: "Ask",
                    status: "completed",
                    answer: "It adds `i32`s.",
                    items: [{ id: "c1", type: "command", status: "completed", title: "Ran `ls`", output: "a\n" }],
                    startedAt: 1764000000,
                },
                { turnId: "tu-2", prompt: "And now?", title: "", status: "inProgress", answer: "", items: [], startedAt: null },
            ],
        });
    });

    it("is null when nothing is bound, and skips turns without an id", () => {
        assert.equal(parseConversation(null), null);
        assert.equal(parseConversation({ title: "x" }), null);
        assert.deepEqual(parseConversation({ threadId: "t", turns: [{ prompt: "lost" }, "junk"] })?.turns, []);
    });

    it("shows a turn status it does not know as finished", () => {
        assert.equal(parseConversation({ threadId: "t", turns: [{ turnId: "u", status: "paused" }] })?.turns[0]?.status, "completed");
    });
});

describe("parseConversationList", () => {
    it("reads the conversations newest first as given, skipping entries without a thread", () => {
        assert.deepEqual(
            parseConversationList({
                conversations: [
                    { threadId: "a", title: "Explain sum", updatedAt: 1764000100, turns: 3 },
                    { title: "no id" },
                    { threadId: "b", updatedAt: "yesterday" },
                ],
            }),
            {
                conversations: [
                    { threadId: "a", title: "Explain sum", updatedAt: 1764000100, turns: 3 },
                    { threadId: "b", title: "", updatedAt: null, turns: 0 },
                ],
            },
        );
        assert.deepEqual(parseConversationList(undefined), { conversations: [] });
    });
});

describe("thread and proposal answers", () => {
    it("reads { threadId }", () => {
        assert.deepEqual(parseThreadRef({ threadId: "fork-1" }), { threadId: "fork-1" });
        // codex.fork's answer names the thread it forked too; the new one is what counts.
        assert.deepEqual(parseThreadRef({ threadId: "fork-1", forkedFromId: "th" }), { threadId: "fork-1" });
        assert.equal(parseThreadRef({ threadId: 3 }), undefined);
    });

    it("reads applyProposal's and discardProposal's answers", () => {
        assert.deepEqual(parseProposalApplied({ applied: false, hunks: [1], reason: "the editor refused" }), {
            applied: false,
            hunks: [1],
            reason: "the editor refused",
        });
        assert.deepEqual(parseProposalApplied({ applied: true, hunks: [0, 2], range }), { applied: true, hunks: [0, 2], range });
        assert.deepEqual(parseProposalApplied({ applied: true }), { applied: true, hunks: [] });
        assert.equal(parseProposalApplied({}), undefined);
        assert.deepEqual(parseProposalDiscarded({ discarded: true }), { discarded: true });
        assert.equal(parseProposalDiscarded(null), undefined);
    });
});

describe("a proposed edit", () => {
    it("keeps its range, version and hunks, skipping hunks without an index or range", () => {
        const progress = parseProgress({
            kind: "end",
            codex: {
                runId: 9,
                status: "completed",
                edit: {
                    status: "proposed",
                    replacement: "a\nB\n",
                    explanation: "Capitalises b.",
                    range,
                    version: 7,
                    hunks: [
                        { index: 0, range, oldText: "b\n", newText: "B\n" },
                        { index: 1, oldText: "x" },
                    ],
                },
            },
        });
        assert.equal(progress?.kind, "end");
        assert.deepEqual(progress?.kind === "end" ? progress.codex.edit : undefined, {
            status: "proposed",
            replacement: "a\nB\n",
            explanation: "Capitalises b.",
            range,
            version: 7,
            hunks: [{ index: 0, range, oldText: "b\n", newText: "B\n" }],
        });
    });
});

describe("serverFeatures", () => {
    it("offers only what the server advertises", () => {
        const today = serverFeatures(["codex.run", "codex.explain", "codex.newThread", "codex.cancel", "codex.status"]);
        assert.deepEqual(today, { conversations: false, steer: false, fork: false, undo: false, proposals: false });
        const all = serverFeatures([
            "codex.conversation",
            "codex.conversations",
            "codex.openConversation",
            "codex.steer",
            "codex.fork",
            "codex.undoLast",
            "codex.applyProposal",
            "codex.discardProposal",
        ]);
        assert.deepEqual(all, { conversations: true, steer: true, fork: true, undo: true, proposals: true });
        assert.equal(serverFeatures(undefined).conversations, false);
    });
});

describe("parseBusyRefusal", () => {
    it("knows the busy refusal by its data, not its message", () => {
        const refusal = { code: -32600, message: "the conversation is busy: use codex.steer or codex.cancel", data: { busy: true, runIds: [4] } };
        assert.deepEqual(parseBusyRefusal(refusal), { busy: true, runIds: [4] });
        assert.equal(parseBusyRefusal({ code: -32600, message: "codex.steer" }), undefined);
        assert.equal(parseBusyRefusal(new Error("document-changed")), undefined);
        assert.equal(parseBusyRefusal(undefined), undefined);
    });
});
