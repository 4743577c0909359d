-- :CodexReview puts its findings on the buffer as vim.diagnostic entries
-- with their codes; :CodexFix on a finding's line sends that diagnostic to
-- the server and the fix lands in the buffer.
local H = require('harness')
local data = H.data()

local ended = H.record_run_ends()

H.test(':CodexReview shows its findings as diagnostics', function()
  local bufnr = H.open('src/lib.rs')
  H.type(':CodexReview<CR>')
  H.wait('the review run to end', function()
    return ended[1]
  end)
  H.eq('completed', ended[1].status, 'review status ' .. vim.inspect(ended[1].error))
  H.eq(1, ended[1].result.findings, 'findings in the end report')
  local finding = H.wait_diagnostic('a review finding', bufnr, function(d)
    return d.source == 'codex-review'
  end)
  H.eq('review', finding.code, 'code')
  H.eq(data.finding.message, finding.message, 'message')
  H.eq(data.finding.startLine - 1, finding.lnum, 'line')
  H.eq(vim.diagnostic.severity.WARN, finding.severity, 'severity')
end)

H.test(':CodexFix on the finding fixes the line', function()
  local bufnr = vim.api.nvim_get_current_buf()
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  vim.api.nvim_win_set_cursor(0, { data.finding.startLine, 0 })
  H.type(':CodexFix<CR>')
  H.wait('the fix run to end', function()
    return ended[2]
  end)
  H.eq('completed', ended[2].status, 'fix status ' .. vim.inspect(ended[2].error))
  H.eq('applied', ended[2].result.edit.status, 'edit status')
  lines[data.finding.startLine] = data.fixed_line
  H.eq(lines, vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), 'buffer after the fix')
end)
