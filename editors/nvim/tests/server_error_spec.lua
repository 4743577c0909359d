-- An HTTP 500 from the model service: a vim.diagnostic entry with code
-- `server-error` on the selection, and the outcome in the answer window.
local H = require('harness')

H.test('an HTTP 500 becomes a server-error diagnostic on the selection', function()
  local bufnr = H.open('src/lib.rs')
  local window = H.start_answer('CodexExplain', { 2, 4 })

  local diagnostic = H.wait_diagnostic('a server-error diagnostic', bufnr, function(d)
    return d.code == 'server-error'
  end)
  H.eq('codex', diagnostic.source, 'diagnostic source')
  H.eq(vim.diagnostic.severity.WARN, diagnostic.severity, 'severity: a failed run is a Warning')
  H.eq(
    { 1, 0, 4, 0 },
    { diagnostic.lnum, diagnostic.col, diagnostic.end_lnum, diagnostic.end_col },
    'range = the selection'
  )

  window = H.wait('the answer window to show the failure', function()
    local current = H.answer_window(window.token)
    return current and current.title:find('failed: server-error', 1, true) and current
  end)
  H.truthy(window.text:find('server-error', 1, true), 'the outcome is in the window: ' .. window.text)
end)

H.test('with style = split the answer opens in a split, its status in the winbar', function()
  require('codex_ls').options.answer.style = 'split'
  local source_win = vim.api.nvim_get_current_win()
  local window = H.start_answer('%CodexAsk Why?')
  H.eq('', window.config.relative, 'a split, not a float')
  H.eq(source_win, vim.api.nvim_get_current_win(), 'the cursor stays in the source window')
  window = H.wait('the winbar to show the failure', function()
    local current = H.answer_window(window.token)
    return current and vim.wo[current.win].winbar:find('failed: server-error', 1, true) and current
  end)
  H.truthy(window.text:find('server-error', 1, true), 'the outcome is in the split: ' .. window.text)
end)
