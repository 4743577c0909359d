-- A file change the agent asks to make, against the real app-server: with
-- `approvalPolicy = 'on-request'` and the read-only sandbox, Codex asks
-- before `apply_patch` adds `added.txt`. codex-ls sends the typed
-- `codex/requestApproval` with the file's content; the confirm window names
-- the file, `v` shows what it adds as a diff, and `a` accepts (the Rust test
-- then finds the file on disk).
local H = require('harness')
local data = H.data()

--- The open confirm window: { win, buf, text, state }.
local function confirm_window()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    local buf = vim.api.nvim_win_get_buf(win)
    local state = vim.b[buf].codex_ls_approval
    if state then
      return { win = win, buf = buf, text = H.text(buf), state = state }
    end
  end
end

H.test('a file change asks with its diff: `v` shows it, `a` accepts', function()
  H.open('src/lib.rs')
  local requests = {}
  local client = require('codex_ls').client(0)
  local handler = client.handlers['codex/requestApproval']
  client.handlers['codex/requestApproval'] = function(err, params, ctx)
    requests[#requests + 1] = params
    return handler(err, params, ctx)
  end
  local window = H.start_answer('CodexAsk Add the file')
  local confirm = H.wait('the armed confirm window', function()
    local run = require('codex_ls.commands').runs[window.token]
    if run.ended_at then
      error('the run ended before the approval: ' .. H.answer_window(window.token).text)
    end
    local open = confirm_window()
    return open and open.state.armed and open
  end, 60000)
  H.eq('fileChange', requests[1] and requests[1].kind, 'a typed file-change request')
  H.truthy(confirm.text:find('add ' .. data.file .. ' (+1 -0)', 1, true), 'the file and its size: ' .. confirm.text)
  H.truthy(confirm.text:find('[v] View diff', 1, true), 'the diff key: ' .. confirm.text)

  H.type('v')
  local shown = H.wait('the diff view', function()
    local buf = vim.api.nvim_get_current_buf()
    return vim.b[buf].codex_ls_approval_diff and buf
  end)
  H.eq('diff', vim.bo[shown].filetype, 'diff filetype')
  local diff = vim.api.nvim_buf_get_lines(shown, 0, -1, false)
  H.truthy(vim.list_contains(diff, '+++ b/' .. data.file), 'the file: ' .. vim.inspect(diff))
  H.truthy(vim.list_contains(diff, '+' .. data.content), 'the added line: ' .. vim.inspect(diff))
  H.truthy(confirm_window(), 'looking decides nothing')
  H.type('q')
  H.wait('back in the confirm window', function()
    return vim.api.nvim_get_current_win() == confirm.win
  end)

  H.type('a')
  window = H.wait_run_end(window.token, 'completed', 60000)
  H.eq(nil, confirm_window(), 'the confirm window closed')
  H.eq(data.answer, window.answer, 'the answer')
  local step = window.text:match('\n▸ ([^\n]*' .. vim.pesc(data.file) .. '[^\n]*)')
  H.truthy(step, 'the file change is a step under the answer: ' .. window.text)
  H.eq(1, #requests, 'one approval asked')
  vim.api.nvim_win_close(window.win, true)
end)
