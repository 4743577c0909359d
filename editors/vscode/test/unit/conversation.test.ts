import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConversationThread, followUpAction, followUpArgs } from "../../src/conversation";
import type { ConversationTurn } from "../../src/lsp_ext";
import { RunRecord } from "../../src/run_state";

const URI = "file:///w/src/lib.rs";

function run(id: number, prompt: string): RunRecord {
    return new RunRecord({ id, title: "Ask", prompt, origin: { uri: URI, label: "src/lib.rs" }, token: `t${id}` });
}

/// A run that streamed on `turnId` of thread "th" and ended.
function finished(id: number, prompt: string, turnId: string): RunRecord {
    const record = run(id, prompt);
    record.started(id);
    record.apply({ kind: "report", codex: { runId: id, threadId: "th", turnId, delta: "answer", seq: 1 } });
    record.apply({ kind: "end", codex: { runId: id, status: "completed", assistantText: "answer" } });
    return record;
}

function turn(turnId: string, prompt: string): ConversationTurn {
    return { turnId, prompt, title: "Ask", status: "completed", answer: `answer to ${prompt}`, items: [], startedAt: 1 };
}

function shape(conversation: ConversationThread): string[] {
    return conversation.exchanges().map((exchange) =>
        exchange.kind === "run" ? `run ${exchange.run.id}` : `turn ${exchange.turn.turnId}`,
    );
}

describe("ConversationThread", () => {
    it("takes the thread from a run's reports, and is titled by its first question", () => {
        const conversation = new ConversationThread(URI, "src/lib.rs");
        assert.equal(conversation.title, "New conversation");
        const first = finished(1, "Why does sum overflow?", "u1");
        conversation.addRun(first);
        conversation.noteThread(first);
        assert.equal(conversation.threadId, "th");
        assert.equal(conversation.title, "Why does sum overflow?");
    });

    it("ignores the thread of a run that is not its own", () => {
        const conversation = new ConversationThread(URI, "src/lib.rs");
        conversation.noteThread(finished(1, "q", "u1"));
        assert.equal(conversation.threadId, undefined);
    });

    it("shows a run and the turn it became as one exchange, in Codex's order", () => {
        const conversation = new ConversationThread(URI, "src/lib.rs");
        conversation.addRun(finished(3, "second", "u2"));
        conversation.load({ threadId: "th", title: "Sums", turns: [turn("u1", "first"), turn("u2", "second")] });
        assert.deepEqual(shape(conversation), ["turn u1", "run 3"]);
        assert.equal(conversation.title, "Sums");
    });

    it("keeps a running run after the history, and names it as the busy one", () => {
        const conversation = new ConversationThread(URI, "src/lib.rs");
        const going = run(4, "third");
        going.started(4);
        conversation.addRun(going);
        conversation.load({ threadId: "th", title: "", turns: [turn("u1", "first")] });
        assert.deepEqual(shape(conversation), ["turn u1", "run 4"]);
        assert.equal(conversation.busyRun(), going);
    });

    it("drops a finished run whose turn Codex no longer has (the last exchange was undone)", () => {
        const conversation = new ConversationThread(URI, "src/lib.rs");
        conversation.addRun(finished(1, "first", "u1"));
        conversation.addRun(finished(2, "second", "u2"));
        const refused = run(3, "refused");
        refused.fail({ code: "rejected", message: "busy" });
        conversation.addRun(refused);
        conversation.load({ threadId: "th", title: "", turns: [turn("u1", "first")] });
        // The refused run never had a turn: it stays, so its error is still read.
        assert.deepEqual(shape(conversation), ["run 1", "run 3"]);
    });

    it("Clear drops the finished exchanges and the history, not a running one", () => {
        const conversation = new ConversationThread(URI, "src/lib.rs");
        conversation.addRun(finished(1, "first", "u1"));
        const going = run(2, "second");
        conversation.addRun(going);
        conversation.load({ threadId: "th", title: "", turns: [turn("u0", "zeroth"), turn("u1", "first")] });
        const dropped = conversation.clearFinished();
        assert.deepEqual(dropped.map((record) => record.id), [1]);
        assert.deepEqual(shape(conversation), ["run 2"]);
        assert.equal(conversation.isEmpty, false);
    });
});

describe("followUpArgs", () => {
    const document = { uri: URI, version: 3 };

    it("continues the thread and attaches the buffer when the server takes threadId", () => {
        assert.deepEqual(followUpArgs("And the overflow?", "th", document, true), {
            prompt: "And the overflow?",
            threadId: "th",
            textDocument: document,
        });
        // Before the first run's report named the thread, the document names the conversation.
        assert.deepEqual(followUpArgs("And now?", undefined, document, true), { prompt: "And now?", textDocument: document });
    });

    it("sends no threadId to a server from before conversations (it rejects unknown fields)", () => {
        assert.deepEqual(followUpArgs("And the overflow?", "th", document, false), {
            prompt: "And the overflow?",
            textDocument: document,
        });
    });
});

describe("followUpAction", () => {
    it("starts a turn when none runs, and steers the running one instead of queueing", () => {
        assert.deepEqual(followUpAction(undefined, true), { kind: "run" });
        const going = run(5, "q");
        going.started(42);
        assert.deepEqual(followUpAction(going, true), { kind: "steer", runId: 42 });
    });

    it("waits while the running turn has no run id yet, or when the server cannot steer", () => {
        assert.equal(followUpAction(run(5, "q"), true).kind, "wait");
        const going = run(5, "q");
        going.started(42);
        assert.equal(followUpAction(going, false).kind, "wait");
    });
});
