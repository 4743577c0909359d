import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderAnswer } from "../../src/markdown";

describe("renderAnswer", () => {
    it("renders markdown and gives each code block its buttons", () => {
        const { html, codeBlocks } = renderAnswer("It **adds**:\n\n```rust\nfn add(a: i32) -> i32 { a + 1 }\n```\n\nand\n\n```\nx < y\n```\n");
        assert.match(html, /<strong>adds<\/strong>/);
        assert.deepEqual(codeBlocks, ["fn add(a: i32) -> i32 { a + 1 }\n", "x < y\n"]);
        assert.match(html, /<code class="language-rust">fn add\(a: i32\) -&gt; i32/);
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
