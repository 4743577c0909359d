// The answer panel's page: draws the entries the extension sends and posts the buttons'
// clicks back. It keeps no state the extension does not have: when the panel is shown again,
// the page loads anew and asks the extension for every entry. An entry that changes is patched
// (see entry_patch.ts), never redrawn whole, so its buttons stay clickable while it streams.

import {
    CONVERSATION_ACTIONS,
    ENTRY_ACTIONS,
    type FromWebview,
    type PanelConversation,
    type PanelEntry,
    type PanelFinding,
    type PanelStep,
    type ToWebview,
} from "../panel_model";
import { entryChanges } from "./entry_patch";

interface VsCodeApi {
    postMessage(message: FromWebview): void;
    /// Kept by VS Code across a window reload, and given to the extension's panel serializer.
    setState(state: { uri: string | undefined }): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const container = document.getElementById("entries") as HTMLElement;
const emptyNote = container.querySelector(".empty");
const followUp = document.getElementById("follow-up") as HTMLFormElement;
const followUpInput = document.getElementById("follow-up-input") as HTMLTextAreaElement;
const followUpSend = document.getElementById("follow-up-send") as HTMLButtonElement;

function element<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    className: string,
    text?: string,
): HTMLElementTagNameMap[K] {
    const node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
}

function button(label: string, action: string, title: string): HTMLButtonElement {
    const node = element("button", `entry-button ${action}`, label);
    node.dataset["action"] = action;
    node.title = title;
    return node;
}

/// A node from HTML the extension rendered (markdown with raw HTML escaped).
function fromHtml(html: string): Element {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild ?? element("div", "");
}

const STEP_ICONS: Record<PanelStep["type"], string> = {
    reasoning: "💭",
    plan: "☰",
    command: "▸",
    fileChange: "✎",
    webSearch: "🔍",
    toolCall: "⚙",
    retry: "↻",
    notice: "ℹ",
};

const PLAN_MARKS: Record<string, string> = { pending: "☐", inProgress: "◐", completed: "☑" };

/// One step: a line that expands (a `<details>`) to its reasoning, plan, command output or
/// files. The node is kept across updates, so an expanded step stays expanded.
class StepView {
    readonly node = element("details", "step");
    private readonly summary = element("summary", "step-summary");
    private readonly body = element("div", "step-body");
    private readonly output = element("pre", "step-output");

    constructor(id: string) {
        this.node.dataset["step"] = id;
        this.node.append(this.summary, this.body);
    }

    draw(step: PanelStep): void {
        this.node.dataset["type"] = step.type;
        this.node.dataset["status"] = step.status;
        this.summary.replaceChildren(
            element("span", "step-icon", STEP_ICONS[step.type]),
            element("span", "step-title", step.title),
        );
        // The title names the exit code already ("Ran `ls` (exit 2)"); a non-zero one is only
        // coloured, so it stands out among the steps.
        this.node.classList.toggle("exit-nonzero", step.type === "command" && (step.exitCode ?? 0) !== 0);
        this.body.replaceChildren(...this.details(step));
    }

    private details(step: PanelStep): Node[] {
        const parts: Node[] = [];
        if (step.command !== undefined) {
            const line = element("div", "step-command", `$ ${step.command}`);
            if (step.cwd) line.append(element("span", "step-cwd", `  in ${step.cwd}`));
            parts.push(line);
        }
        if (step.text) parts.push(element("div", "step-text", step.text));
        if (step.plan) {
            const list = element("ul", "step-plan");
            for (const item of step.plan) {
                const entry = element("li", `plan-${item.status}`, `${PLAN_MARKS[item.status] ?? "☐"} ${item.step}`);
                list.append(entry);
            }
            parts.push(list);
        }
        if (step.changes) {
            const list = element("ul", "step-changes");
            step.changes.forEach((change, index) => {
                const item = element("li", "step-change");
                item.append(element("span", `change-kind kind-${change.kind}`, change.kind), ` ${change.path} `);
                const open = button("Open diff", "openDiff", "Show the change in the diff editor");
                open.dataset["change"] = String(index);
                item.append(open);
                list.append(item);
            });
            parts.push(list);
        }
        if (step.type === "command") {
            if (step.outputTruncated) parts.push(element("div", "step-truncated", "(earlier output dropped)"));
            parts.push(this.output);
        }
        return parts;
    }

    setOutput(text: string): void {
        this.output.textContent = text;
    }

    appendOutput(text: string): void {
        this.output.append(text);
    }
}

/// One entry and the nodes that updates patch.
class EntryView {
    readonly node = element("article", "entry");
    private readonly status = element("span", "entry-status");
    private readonly header = element("header", "entry-header");
    private readonly cancel = button("Cancel", "cancel", "Cancel this run");
    private readonly currentStep = element("div", "entry-step");
    private readonly steps = element("div", "entry-steps");
    private readonly answer = element("div", "entry-answer");
    private readonly footer = element("div", "entry-footer");
    private readonly steers = element("ul", "entry-steers");
    private readonly stepViews = new Map<string, StepView>();
    private shown: PanelEntry;

    constructor(entry: PanelEntry) {
        this.node.dataset["id"] = entry.id;
        this.header.append(element("span", "entry-title", entry.title), this.status);
        this.node.append(this.header, question(entry), this.steers, this.steps, this.currentStep, this.answer, this.footer);
        // Drawn from an empty entry, so the first update draws everything the same way later
        // ones patch.
        const { id, title, prompt, scope } = entry;
        this.shown = {
            id,
            title,
            prompt,
            scope,
            steers: [],
            retry: false,
            phase: "starting",
            statusLabel: "",
            active: false,
            blocks: [],
            steps: [],
            hasDiagnostic: false,
        };
        this.update(entry, true);
    }

    update(entry: PanelEntry, first = false): void {
        const changes = entryChanges(this.shown, entry);
        this.node.dataset["phase"] = entry.phase;
        if (changes.status || first) {
            this.status.className = `entry-status phase-${entry.phase}`;
            this.status.textContent = entry.statusLabel;
        }
        if (changes.cancel === "add") this.header.append(this.cancel);
        if (changes.cancel === "remove") this.cancel.remove();
        this.currentStep.textContent = entry.currentStep ?? "";
        if (entry.steers.length !== this.shown.steers.length) {
            this.steers.replaceChildren(...entry.steers.map((text) => element("li", "entry-steer", text)));
        }
        this.patchSteps(entry, changes);
        this.patchAnswer(changes.blocks);
        if (changes.footer) this.footer.replaceChildren(...footer(entry));
        this.shown = entry;
    }

    private patchSteps(entry: PanelEntry, changes: ReturnType<typeof entryChanges>): void {
        for (const step of changes.steps) {
            let view = this.stepViews.get(step.id);
            if (view === undefined) {
                view = new StepView(step.id);
                this.stepViews.set(step.id, view);
            }
            view.draw(step);
        }
        for (const { id, patch } of changes.outputs) {
            const view = this.stepViews.get(id);
            if (view === undefined) continue;
            if ("append" in patch) view.appendOutput(patch.append);
            else view.setOutput(patch.replace);
        }
        // Order (and drop steps the end no longer lists) without moving nodes in place.
        const ids = new Set(entry.steps.map((step) => step.id));
        for (const [id, view] of this.stepViews) {
            if (!ids.has(id)) {
                view.node.remove();
                this.stepViews.delete(id);
            }
        }
        entry.steps.forEach((step, index) => {
            const node = this.stepViews.get(step.id)?.node;
            if (node && this.steps.children[index] !== node) this.steps.insertBefore(node, this.steps.children[index] ?? null);
        });
    }

    private patchAnswer(patch: ReturnType<typeof entryChanges>["blocks"]): void {
        for (const { index, html } of patch.replace) {
            const node = fromHtml(html);
            const old = this.answer.children[index];
            if (old) old.replaceWith(node);
            else this.answer.append(node);
        }
        while (this.answer.children.length > patch.length) this.answer.lastElementChild?.remove();
    }
}

/// What was asked, above the answer: the question (the run's title when it has no prompt of
/// its own, as Explain), where, and the selected text it was about.
function question(entry: PanelEntry): HTMLElement {
    const node = element("div", "entry-question");
    if (entry.prompt) node.append(element("div", "entry-prompt", entry.prompt));
    node.append(element("div", "entry-scope", entry.scope));
    if (entry.excerpt !== undefined) node.append(element("pre", "entry-excerpt", entry.excerpt));
    return node;
}

function findingItem(finding: PanelFinding, index: number): HTMLElement {
    const item = element("li", `finding severity-${finding.severity}`);
    const link = element("a", "finding-link", finding.lines);
    link.href = "#";
    link.dataset["action"] = "revealFinding";
    link.dataset["finding"] = String(index);
    link.title = "Go to these lines";
    item.append(link, element("span", "finding-severity", ` ${finding.severity}: `), element("span", "finding-message", finding.message));
    if (finding.suggestion !== undefined) {
        item.append(element("pre", "finding-suggestion", finding.suggestion));
    }
    return item;
}

function footer(entry: PanelEntry): Node[] {
    const parts: Node[] = [];
    if (entry.findingList && entry.findingList.length > 0) {
        const list = element("ul", "entry-finding-list");
        entry.findingList.forEach((finding, index) => list.append(findingItem(finding, index)));
        parts.push(list);
    }
    if (entry.edit) {
        const edit = element("div", "entry-edit", entry.edit.status);
        if (entry.edit.reason) edit.append(element("span", "entry-edit-reason", ` (${entry.edit.reason})`));
        parts.push(edit);
    }
    if (entry.findings !== undefined) {
        const findings = entry.findings === 1 ? "1 finding" : `${entry.findings} findings`;
        parts.push(element("div", "entry-findings", `${findings}, shown as problems in the file.`));
    }
    if (entry.error) {
        const error = element("div", "entry-error");
        error.append(element("span", "entry-error-code", entry.error.code));
        error.append(element("span", "entry-error-message", ` ${entry.error.message}`));
        if (entry.hasDiagnostic) {
            const link = element("a", "entry-diagnostic-link", "Show the problem");
            link.href = "#";
            link.dataset["action"] = "showDiagnostic";
            link.title = "Go to the diagnostic in the file and open the Problems panel";
            error.append(" ", link);
        }
        parts.push(error);
    }
    if (entry.proposal) {
        const buttons = element("div", "entry-proposal");
        buttons.append(
            button("Accept", "acceptProposal", "Apply the proposed edit (one undo step)"),
            button("Reject", "rejectProposal", "Drop the proposed edit; the file stays as it is"),
            button("Open diff", "openProposal", "Show the proposed edit in the diff editor"),
        );
        parts.push(buttons);
    }
    if (entry.usage) parts.push(element("div", "entry-usage", entry.usage));
    if (entry.retry) parts.push(button("Retry", "retry", "Ask this again"));
    return parts;
}

const views = new Map<string, EntryView>();

function atBottom(): boolean {
    const page = document.scrollingElement ?? document.documentElement;
    return page.scrollHeight - page.scrollTop - page.clientHeight < 40;
}

function scrollToBottom(): void {
    const page = document.scrollingElement ?? document.documentElement;
    page.scrollTop = page.scrollHeight;
}

function upsert(entry: PanelEntry): void {
    const follow = atBottom();
    emptyNote?.remove();
    const existing = views.get(entry.id);
    if (existing) {
        existing.update(entry);
    } else {
        const view = new EntryView(entry);
        views.set(entry.id, view);
        container.append(view.node);
    }
    if (follow || !existing) scrollToBottom();
}

function showAll(entries: PanelEntry[]): void {
    const ids = new Set(entries.map((entry) => entry.id));
    for (const [id, view] of views) {
        if (!ids.has(id)) {
            view.node.remove();
            views.delete(id);
        }
    }
    if (entries.length === 0 && emptyNote && !emptyNote.isConnected) container.append(emptyNote);
    for (const entry of entries) upsert(entry);
}

/// The conversation's title and buttons, and what the input's button does now.
function showHeader(conversation: PanelConversation | undefined): void {
    vscode.setState({ uri: conversation?.uri });
    const title = document.getElementById("conversation-title") as HTMLElement;
    title.textContent = conversation?.title ?? "Codex answers";
    title.title = conversation?.title ?? "";
    (document.getElementById("conversation-label") as HTMLElement).textContent = conversation?.label ?? "";
    (document.getElementById("fork-button") as HTMLButtonElement).hidden = !conversation?.canFork;
    (document.getElementById("undo-button") as HTMLButtonElement).hidden = !conversation?.canUndo;
    followUp.hidden = conversation === undefined;
    followUp.dataset["busy"] = String(conversation?.busy ?? false);
    followUpSend.textContent = conversation?.inputLabel ?? "Send";
    followUpInput.placeholder = conversation?.busy
        ? "Add to the running turn (Enter steers it)"
        : "Ask a follow-up (Enter sends, Shift+Enter for a new line)";
}

function send(): void {
    const text = followUpInput.value;
    if (!text.trim()) return;
    vscode.postMessage({ type: "send", text });
    followUpInput.value = "";
}

followUp.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
});

followUpInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        send();
    }
});

window.addEventListener("message", (event: MessageEvent<ToWebview>) => {
    const message = event.data;
    switch (message.type) {
        case "conversation":
            showHeader(message.conversation);
            showAll(message.entries);
            break;
        case "header":
            showHeader(message.conversation);
            break;
        case "entry":
            upsert(message.entry);
            break;
    }
});

/// The number in a data attribute of the clicked node, if it is one.
function dataNumber(node: HTMLElement, name: string): number | undefined {
    const value = Number(node.dataset[name]);
    return node.dataset[name] !== undefined && Number.isInteger(value) ? value : undefined;
}

document.addEventListener("click", (event) => {
    const target = (event.target as HTMLElement | null)?.closest<HTMLElement>("[data-action]");
    if (!target) return;
    event.preventDefault();
    const action = target.dataset["action"];
    const conversationAction = CONVERSATION_ACTIONS.find((known) => known === action);
    if (conversationAction !== undefined) {
        vscode.postMessage({ type: conversationAction });
        return;
    }
    const id = target.closest<HTMLElement>("article.entry")?.dataset["id"];
    if (id === undefined) return;
    const entryAction = ENTRY_ACTIONS.find((known) => known === action);
    if (entryAction !== undefined) {
        vscode.postMessage({ type: entryAction, id });
        return;
    }
    switch (action) {
        case "copy":
        case "insert": {
            const block = dataNumber(target, "block");
            if (block !== undefined) vscode.postMessage({ type: action, id, block });
            break;
        }
        case "openDiff": {
            const step = target.closest<HTMLElement>("details.step")?.dataset["step"];
            const change = dataNumber(target, "change");
            if (step !== undefined && change !== undefined) vscode.postMessage({ type: "openDiff", id, step, change });
            break;
        }
        case "revealFinding": {
            const finding = dataNumber(target, "finding");
            if (finding !== undefined) vscode.postMessage({ type: "revealFinding", id, finding });
            break;
        }
    }
});

vscode.postMessage({ type: "ready" });
