-- History, part 2: a new Neovim, so a new codex-ls and app-server, with the
-- CODEX_HOME where part 1 (`history_spec.lua`) asked two questions.
-- `:CodexConversations` lists the workspace's conversations (the picker is
-- answered by the spec), and the one picked shows both questions and
-- answers, read from Codex; a follow-up in it continues that thread.
local H = require('harness')
local data = H.data()
local commands = require('codex_ls.commands')

local function lines_of(text)
  return vim.split(text, '\n', { plain = true })
end

H.test(':CodexConversations in a new Neovim brings back both exchanges', function()
  H.open('src/lib.rs')
  H.eq(0, #H.answer_windows(), 'no conversation window yet')
  local offered
  local select = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    offered = vim.tbl_map(opts.format_item, items)
    for _, item in ipairs(items) do
      if item.title:find(data.prompts[1], 1, true) then
        return on_choice(item)
      end
    end
    on_choice(nil)
  end
  local ok, err = pcall(function()
    H.type(':CodexConversations<CR>')
    local window = H.wait('the picked conversation with its history', function()
      local window = H.answer_windows()[1]
      return window and window.text:find(data.answers[2], 1, true) and window
    end, 60000)
    H.eq(1, #offered, 'the conversation of part 1 is listed: ' .. vim.inspect(offered))
    H.truthy(offered[1]:find('2 exchange(s)', 1, true), 'with its two exchanges: ' .. offered[1])
    local text = window.text
    local found = {}
    for _, needle in ipairs({ '## ' .. data.prompts[1], data.answers[1], '## ' .. data.prompts[2], data.answers[2] }) do
      found[#found + 1] = H.truthy(text:find(needle, 1, true), needle .. ' in\n' .. text)
    end
    for index = 2, #found do
      H.truthy(found[index - 1] < found[index], 'question, answer, question, answer:\n' .. text)
    end
    H.eq('## ' .. data.prompts[1], lines_of(text)[1], 'the first question heads the window')
    H.truthy(window.window.thread_id, 'the window knows its thread')
  end)
  vim.ui.select = select
  assert(ok, err)
end)

H.test('a follow-up in the reopened conversation continues its thread', function()
  local window = H.answer_windows()[1]
  local thread = window.window.thread_id
  vim.api.nvim_set_current_win(window.win)
  H.type(':CodexAsk ' .. data.follow_up .. '<CR>')
  local follow_up = H.wait('the follow-up in the same window', function()
    local current = H.answer_windows()[1]
    return current and current.token ~= window.token and commands.runs[current.token] and current
  end)
  follow_up = H.wait_run_end(follow_up.token, 'completed', 60000)
  H.eq(data.follow_up_answer, follow_up.answer, 'its answer')
  H.eq(thread, commands.runs[follow_up.token].thread_id, 'the same thread')
  H.truthy(follow_up.text:find(data.answers[1], 1, true), 'the history stays above it')
end)
