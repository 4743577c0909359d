// The two sides of a file change, for VS Code's diff editor. Codex gives each changed file as a
// unified diff; the file on disk may already be the new version (the agent changed it) or still
// the old one (an approval asks first), so both sides are built from the diff alone: the hunks'
// context and removed lines on the left, context and added lines on the right. Works the same
// for an added file (empty left), a deleted one (empty right) and an update. Pure.

import type { FileChange } from "./lsp_ext";

export interface DiffSides {
    before: string;
    after: string;
}

/// Stands between two hunks on both sides, where the diff skips unchanged lines.
export const HUNK_GAP = "⋯";

export function diffSides(change: Pick<FileChange, "kind" | "diff">): DiffSides {
    const lines = change.diff.split("\n");
    if (!lines.some((line) => line.startsWith("@@"))) {
        // Not a unified diff: the content of an added or deleted file as it is.
        if (change.kind === "delete") return { before: change.diff, after: "" };
        return { before: "", after: change.diff };
    }
    const before: string[] = [];
    const after: string[] = [];
    let inHunk = false;
    for (const line of lines) {
        if (line.startsWith("@@")) {
            if (inHunk) {
                before.push(HUNK_GAP);
                after.push(HUNK_GAP);
            }
            inHunk = true;
            continue;
        }
        if (!inHunk) continue; // "diff --git", "---", "+++" and other headers
        if (line.startsWith("+")) after.push(line.slice(1));
        else if (line.startsWith("-")) before.push(line.slice(1));
        else if (line.startsWith(" ")) {
            before.push(line.slice(1));
            after.push(line.slice(1));
        }
        // "\ No newline at end of file" and the empty string after the last line say nothing.
    }
    return { before: joinLines(before), after: joinLines(after) };
}

function joinLines(lines: string[]): string {
    return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
