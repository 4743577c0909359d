// The answer panel's page: draws the entries the extension sends and posts the buttons'
// clicks back. It keeps no state of its own: when the panel is shown again, the page loads
// anew and asks the extension for every entry.

import type { FromWebview, PanelEntry, ToWebview } from "../panel_model";

interface VsCodeApi {
    postMessage(message: FromWebview): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const container = document.getElementById("entries") as HTMLElement;
const emptyNote = container.querySelector(".empty");

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

function draw(entry: PanelEntry): HTMLElement {
    const article = element("article", "entry");
    article.dataset["id"] = String(entry.id);
    article.dataset["phase"] = entry.phase;

    const header = element("header", "entry-header");
    header.append(element("span", "entry-title", entry.title));
    const status = element("span", `entry-status phase-${entry.phase}`, entry.statusLabel);
    header.append(status);
    if (entry.active) header.append(button("Cancel", "cancel", "Cancel this run"));
    article.append(header);

    if (entry.prompt) article.append(element("div", "entry-prompt", entry.prompt));
    article.append(element("div", "entry-scope", entry.scope));

    const answer = element("div", "entry-answer");
    // Rendered by the extension from markdown with raw HTML escaped.
    answer.innerHTML = entry.html;
    article.append(answer);

    if (entry.edit) {
        const edit = element("div", "entry-edit", entry.edit.status);
        if (entry.edit.reason) edit.append(element("span", "entry-edit-reason", ` (${entry.edit.reason})`));
        article.append(edit);
    }
    if (entry.findings !== undefined) {
        const findings = entry.findings === 1 ? "1 finding" : `${entry.findings} findings`;
        article.append(element("div", "entry-findings", `${findings}, shown as problems in the file.`));
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
        article.append(error);
    }
    return article;
}

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
    const drawn = draw(entry);
    const existing = container.querySelector(`article.entry[data-id="${entry.id}"]`);
    if (existing) existing.replaceWith(drawn);
    else container.append(drawn);
    if (follow || !existing) scrollToBottom();
}

window.addEventListener("message", (event: MessageEvent<ToWebview>) => {
    const message = event.data;
    switch (message.type) {
        case "entries":
            for (const article of container.querySelectorAll("article.entry")) article.remove();
            if (message.entries.length === 0 && emptyNote && !emptyNote.isConnected) container.append(emptyNote);
            for (const entry of message.entries) upsert(entry);
            break;
        case "entry":
            upsert(message.entry);
            break;
    }
});

document.addEventListener("click", (event) => {
    const target = (event.target as HTMLElement | null)?.closest<HTMLElement>("[data-action]");
    if (!target) return;
    event.preventDefault();
    const action = target.dataset["action"];
    if (action === "clear") {
        vscode.postMessage({ type: "clear" });
        return;
    }
    const article = target.closest<HTMLElement>("article.entry");
    const id = Number(article?.dataset["id"]);
    if (!Number.isInteger(id)) return;
    switch (action) {
        case "cancel":
            vscode.postMessage({ type: "cancel", id });
            break;
        case "showDiagnostic":
            vscode.postMessage({ type: "showDiagnostic", id });
            break;
        case "copy":
        case "insert": {
            const block = Number(target.dataset["block"]);
            if (Number.isInteger(block)) vscode.postMessage({ type: action, id, block });
            break;
        }
    }
});

vscode.postMessage({ type: "ready" });
