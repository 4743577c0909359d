// The steps of one run (reasoning, plan, commands, file changes, searches, tool calls, retries,
// notices) as the `items` of its progress reports describe them. Pure, so the folding rules of
// README "Streaming" are unit-tested: for an id already seen, scalar fields replace, `text` and
// `outputDelta` append; the `end` value's items replace everything with the final states.

import type { FileChange, Item, ItemStatus, ItemType, ItemUpdate, PlanStep } from "./lsp_ext";

/// The client keeps at most this much of a command's output (the end keeps the last 64 KiB too),
/// so a chatty command cannot grow the panel without bound.
export const OUTPUT_LIMIT = 64 * 1024;

export interface Step {
    id: string;
    type: ItemType;
    status: ItemStatus;
    title: string;
    text: string;
    command?: string;
    cwd?: string;
    exitCode?: number;
    /// The command's output so far (its tail, when it outgrew `OUTPUT_LIMIT`).
    output: string;
    /// Whether some of the output's head is missing (dropped by the server or here).
    outputTruncated: boolean;
    changes?: FileChange[];
    plan?: PlanStep[];
}

export class Steps {
    private readonly byId = new Map<string, Step>();

    /// The steps in the order they first appeared.
    get list(): Step[] {
        return [...this.byId.values()];
    }

    get size(): number {
        return this.byId.size;
    }

    /// Folds one report's updates in. Returns whether anything changed.
    apply(updates: readonly ItemUpdate[]): boolean {
        for (const update of updates) {
            const step = this.byId.get(update.id) ?? this.create(update);
            replaceScalars(step, update);
            step.text += update.text ?? "";
            if (update.outputSkipped) step.outputTruncated = true;
            if (update.outputDelta) this.appendOutput(step, update.outputDelta);
        }
        return updates.length > 0;
    }

    /// The end's final states replace what was streamed (a report may have been lost).
    finish(items: readonly Item[] | undefined): void {
        if (items === undefined) return;
        this.byId.clear();
        for (const item of items) {
            const step = this.create(item);
            replaceScalars(step, item);
            step.text = item.text ?? "";
            this.appendOutput(step, item.output ?? "");
        }
    }

    private create(fields: Pick<Step, "id" | "type" | "status" | "title">): Step {
        const step: Step = {
            id: fields.id,
            type: fields.type,
            status: fields.status,
            title: fields.title,
            text: "",
            output: "",
            outputTruncated: false,
        };
        this.byId.set(step.id, step);
        return step;
    }

    private appendOutput(step: Step, delta: string): void {
        step.output += delta;
        if (step.output.length > OUTPUT_LIMIT) {
            step.output = step.output.slice(step.output.length - OUTPUT_LIMIT);
            step.outputTruncated = true;
        }
    }
}

function replaceScalars(step: Step, fields: ItemUpdate | Item): void {
    step.type = fields.type;
    step.status = fields.status;
    if (fields.title) step.title = fields.title;
    if (fields.command !== undefined) step.command = fields.command;
    if (fields.cwd !== undefined) step.cwd = fields.cwd;
    if (fields.exitCode !== undefined) step.exitCode = fields.exitCode;
    if (fields.changes !== undefined) step.changes = fields.changes;
    if (fields.plan !== undefined) step.plan = fields.plan;
}
