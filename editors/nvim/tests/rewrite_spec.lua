-- :CodexRewrite on a Visual selection: the buffer changes by exactly the
-- model's replacement, and one typed `u` undoes it.
local H = require('harness')
local data = H.data()

local ended = H.record_run_ends()

H.test(':CodexRewrite replaces the selection as one undo step', function()
  local bufnr = H.open('src/lib.rs')
  local original = H.text(bufnr)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  -- Lines 2-4 replaced by the replacement (which ends with a line break).
  local expected = lines[1] .. '\n' .. data.replacement .. table.concat(vim.list_slice(lines, 5), '\n')

  H.select_lines(2, 4)
  H.type(':CodexRewrite ' .. data.instruction .. '<CR>')

  local result = H.wait('the rewrite run to end', function()
    return ended[1]
  end)
  H.eq('completed', result.status, 'run status ' .. vim.inspect(result.error))
  H.eq('applied', result.result.edit.status, 'edit status')
  H.eq(data.replacement, result.result.edit.replacement, 'edit replacement')
  H.eq(data.explanation, result.result.edit.explanation, 'edit explanation')
  H.eq(expected, H.text(bufnr), 'buffer after the rewrite')
  H.eq({}, H.answer_windows(), 'an edit run opens no answer window')

  H.type('u')
  H.wait('one `u` to undo the whole rewrite', function()
    return H.text(bufnr) == original
  end, 5000)
  H.type('<C-r>')
  H.wait('<C-r> to redo it', function()
    return H.text(bufnr) == expected
  end, 5000)
end)

H.test(':CodexRewrite on a charwise Visual selection replaces just those characters', function()
  local bufnr = vim.api.nvim_get_current_buf()
  H.type('u')
  H.wait('the buffer back to the file', function()
    return not vim.bo[bufnr].modified
  end, 5000)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  H.eq('    a + b', lines[3], 'line 3 before')

  -- `a + b` on line 3: five characters from the first non-blank.
  H.type('3G^v4l')
  H.wait('Visual mode over `a + b`', function()
    return vim.fn.mode() == 'v' and vim.fn.col('.') == 9
  end)
  H.type(':CodexRewrite<CR>')
  local result = H.wait('the rewrite run to end', function()
    return ended[2]
  end)
  H.eq('applied', result.result.edit.status, 'edit status')
  lines[3] = '    ' .. data.inline_replacement
  H.eq(lines, vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), 'buffer after the rewrite')
end)
