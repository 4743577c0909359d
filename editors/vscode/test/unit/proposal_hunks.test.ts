import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hunkPick, pickedHunks } from "../../src/proposal_hunks";

const hunk = (index: number, startLine: number, endLine: number, oldText: string, newText: string) => ({
    index,
    range: { start: { line: startLine, character: 0 }, end: { line: endLine, character: 0 } },
    oldText,
    newText,
});

describe("hunkPick", () => {
    it("names the hunk's lines (one-based) and its first removed and added lines", () => {
        assert.deepEqual(hunkPick(hunk(0, 2, 4, "    let mut sum = 0;\n    for v in values {\n", "    values.iter().sum()\n")), {
            label: "Hunk 1: lines 3-4",
            description: "-2 +1",
            detail: "- let mut sum = 0;   + values.iter().sum()",
            index: 0,
        });
    });

    it("an insertion has no removed side and one line", () => {
        const pick = hunkPick({ index: 2, range: { start: { line: 6, character: 0 }, end: { line: 6, character: 0 } }, oldText: "", newText: "// done\n" });
        assert.equal(pick.label, "Hunk 3: line 7");
        assert.equal(pick.description, "-0 +1");
        assert.equal(pick.detail, "+ // done");
    });
});

describe("pickedHunks", () => {
    const all = [hunk(0, 0, 1, "a\n", "A\n"), hunk(1, 3, 4, "b\n", "B\n"), hunk(2, 6, 7, "c\n", "C\n")];

    it("sends the picked indexes in order", () => {
        assert.deepEqual(pickedHunks(all, [2, 0]), [0, 2]);
    });

    it("sends no list when every hunk was picked (the same as Accept)", () => {
        assert.equal(pickedHunks(all, [1, 0, 2]), undefined);
    });
});
