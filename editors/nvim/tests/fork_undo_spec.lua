-- `:CodexUndo` and `:CodexFork` against the real server: after two
-- questions, `:CodexUndo` in the conversation window drops the second
-- (`codex.undoLast`) and the window is redrawn from `codex.conversation`;
-- `:CodexFork` continues a new thread with the same history. The Rust test
-- checks that the next question's request no longer carries the dropped one.
local H = require('harness')
local data = H.data()

H.test(':CodexUndo drops the last exchange; :CodexFork continues a copy', function()
  H.open('src/lib.rs')
  local window
  for index, prompt in ipairs(data.prompts) do
    window = H.start_answer('CodexAsk ' .. prompt)
    window = H.wait_run_end(window.token, 'completed', 60000)
    H.eq(data.answers[index], window.answer, 'answer ' .. index)
  end
  local thread = window.window.thread_id
  vim.api.nvim_set_current_win(window.win)
  H.type(':CodexUndo<CR>')
  H.wait('the window without the last exchange', function()
    local text = H.text(window.buf)
    return not text:find(data.prompts[2], 1, true) and text:find(data.answers[1], 1, true)
  end)
  H.type(':CodexFork<CR>')
  local forked = H.wait('the window on the forked thread', function()
    local id = window.window.thread_id
    return id and id ~= thread and id
  end)
  H.truthy(H.text(window.buf):find(data.answers[1], 1, true), 'the fork keeps the history')
  vim.api.nvim_set_current_win(window.win)
  H.type(':CodexAsk ' .. data.follow_up .. '<CR>')
  local follow_up = H.wait('the follow-up', function()
    local current = H.answer_windows()[1]
    return current and current.token ~= window.token and current
  end)
  follow_up = H.wait_run_end(follow_up.token, 'completed', 60000)
  H.eq(forked, require('codex_ls.commands').runs[follow_up.token].thread_id, 'on the forked thread')
end)
