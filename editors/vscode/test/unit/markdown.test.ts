import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderAnswer } from "../../src/markdown";

describe("renderAnswer", () => {
    it("renders markdown and gives each code block its buttons", () => {
        const { html, codeBlocks } = renderAnswer("It **adds**:\n\n```rust\nfn add(a: i32) -> i32 { a + 1 }\n```\n\nand\n\n```\nx < y\n```\n");
        assert.match(html, /<strong>adds<\/strong>/);
        assert.deepEqual(codeBlocks, ["fn add(a: i32) -> i32 { a + 1 }\n", "x < y\n"]);
        assert.match(html, /<code class="hljs language-rust"><span class="hljs-keyword">fn<\/span>/);
        assert.match(html, /-&gt;/);
        assert.match(html, /data-action="copy" data-block="0"/);
        assert.match(html, /data-action="insert" data-block="1"/);
        assert.match(html, /x &lt; y/);
    });

    it("escapes raw HTML from the model", () => {
        const { html } = renderAnswer('<img src=x onerror="alert(1)"> and <script>alert(2)</script>');
        assert.doesNotMatch(html, /<img|<script/);
        assert.match(html, /&lt;script&gt;/);
    });

    it("drops javascript: links", () => {
        const { html } = renderAnswer("[click](javascript:alert(1))");
        assert.doesNotMatch(html, /href="javascript:/);
    });

    it("renders an answer cut in the middle of a fence (while it streams)", () => {
        const { html, codeBlocks } = renderAnswer("Here:\n\n```python\ndef f():\n    ret");
        assert.deepEqual(codeBlocks, ["def f():\n    ret"]);
        assert.match(html, /<p>Here:<\/p>/);
    });
});

describe("renderAnswer's highlighting and blocks", () => {
    it("highlights code in a known language and leaves other code plain", () => {
        const { html } = renderAnswer("```rust\nfn add() -> i32 { 1 }\n```\n\n```klingon\nfn x\n```\n");
        assert.match(html, /<span class="hljs-keyword">fn<\/span>/);
        assert.match(html, /<code class="hljs language-klingon">fn x\n<\/code>/);
    });

    it("escapes the model's markup inside highlighted code", () => {
        const { html } = renderAnswer("```ts\nconst s = \"<script>alert(1)</script>\";\n```\n");
        assert.doesNotMatch(html, /<script>/);
        assert.match(html, /&lt;script&gt;/);
    });

    it("gives the top-level blocks one by one, and only the last changes while it streams", () => {
        const before = renderAnswer("First.\n\n```rust\nlet a = 1;\n```\n\n- one\n- tw");
        const after = renderAnswer("First.\n\n```rust\nlet a = 1;\n```\n\n- one\n- two\n");
        assert.equal(before.blocks.length, 3);
        assert.equal(before.blocks.join(""), before.html);
        assert.deepEqual(after.blocks.slice(0, 2), before.blocks.slice(0, 2));
        assert.notEqual(after.blocks[2], before.blocks[2]);
    });
});
