// What changes between two states of one panel entry, so the page patches only those parts
// and leaves the rest (the Cancel button, finished code blocks and their buttons, an expanded
// step) as the same DOM nodes. A click is a press and a release on the same node: an entry
// redrawn between the two loses it, as 12 of 13 clicks on Cancel were lost while text streamed.
// Pure, so the rules are unit-tested without a browser.

import type { PanelEntry, PanelStep } from "../panel_model";

/// The blocks to draw anew (by index) and how many blocks the answer has now.
export interface BlockPatch {
    replace: { index: number; html: string }[];
    length: number;
}

export function blockPatch(current: readonly string[], next: readonly string[]): BlockPatch {
    const replace: BlockPatch["replace"] = [];
    next.forEach((html, index) => {
        if (current[index] !== html) replace.push({ index, html });
    });
    return { replace, length: next.length };
}

/// How a text that mostly grows (a command's output) goes from `current` to `next`.
export type TextPatch = { append: string } | { replace: string } | undefined;

export function textPatch(current: string, next: string): TextPatch {
    if (current === next) return undefined;
    if (next.startsWith(current)) return { append: next.slice(current.length) };
    return { replace: next };
}

/// A step's parts other than its output, which is patched as text.
function stepShape(step: PanelStep): string {
    return JSON.stringify({ ...step, output: undefined });
}

/// The parts drawn below the answer, which change at the end of a run.
function footerShape(entry: PanelEntry): string {
    return JSON.stringify([
        entry.edit,
        entry.findings,
        entry.findingList,
        entry.error,
        entry.hasDiagnostic,
        entry.usage,
        entry.retry,
        entry.proposal,
    ]);
}

export interface EntryChanges {
    /// The status line's text and phase, when they changed.
    status?: { label: string; phase: PanelEntry["phase"] };
    /// Whether the Cancel button is to be added or removed (it is kept otherwise).
    cancel?: "add" | "remove";
    blocks: BlockPatch;
    /// The steps whose line or details changed (drawn anew, their expanded state kept), in order.
    steps: PanelStep[];
    /// The steps whose output changed, with how.
    outputs: { id: string; patch: NonNullable<TextPatch> }[];
    footer: boolean;
}

export function entryChanges(previous: PanelEntry, next: PanelEntry): EntryChanges {
    const changes: EntryChanges = { blocks: blockPatch(previous.blocks, next.blocks), steps: [], outputs: [], footer: false };
    if (previous.statusLabel !== next.statusLabel || previous.phase !== next.phase) {
        changes.status = { label: next.statusLabel, phase: next.phase };
    }
    if (previous.active !== next.active) changes.cancel = next.active ? "add" : "remove";
    const before = new Map(previous.steps.map((step) => [step.id, step]));
    for (const step of next.steps) {
        const old = before.get(step.id);
        if (old === undefined || stepShape(old) !== stepShape(step)) changes.steps.push(step);
        const patch = textPatch(old?.output ?? "", step.output);
        if (patch !== undefined) changes.outputs.push({ id: step.id, patch });
    }
    changes.footer = footerShape(previous) !== footerShape(next);
    return changes;
}
