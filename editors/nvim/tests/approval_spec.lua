-- Approvals arrive as window/showMessageRequest and are answered through
-- vim.ui.select (stubbed here as a picker plugin would answer): the prompt
-- holds the whole command; choosing nothing declines.
local H = require('harness')
local data = H.data()

local asked = {}
local choose ---@type fun(items: table[]): table?
vim.ui.select = function(items, opts, on_choice)
  asked[#asked + 1] = { items = items, opts = opts }
  local choice = choose(items)
  -- Answer later, as an asynchronous picker does.
  vim.defer_fn(function()
    on_choice(choice, choice and 1 or nil)
  end, 20)
end

local function titles(items)
  return vim.tbl_map(function(item)
    return item.title
  end, items)
end

local function ask_and_wait(prompt)
  local window = H.start_answer('CodexAsk ' .. prompt, { 1, vim.api.nvim_buf_line_count(0) })
  return H.wait_run_end(window.token, 'completed', 60000)
end

H.test('an approval accepted in vim.ui.select runs the command', function()
  H.open('src/lib.rs')
  choose = function(items)
    for _, item in ipairs(items) do
      if item.title == 'Accept' then
        return item
      end
    end
  end
  local window = ask_and_wait('Run the check')
  H.eq(1, #asked, 'approval requests')
  local request = asked[1]
  H.eq('codex_ls.approval', request.opts.kind, 'select kind')
  H.truthy(request.opts.prompt:find('^Codex wants to run a command'), 'prompt: ' .. request.opts.prompt)
  H.truthy(
    request.opts.prompt:find(data.command_accepted, 1, true),
    'the prompt holds the whole command: ' .. request.opts.prompt
  )
  H.truthy(request.opts.prompt:find(data.justification, 1, true), 'the prompt holds the reason')
  H.truthy(vim.list_contains(titles(request.items), 'Accept'), 'Accept offered')
  H.truthy(vim.list_contains(titles(request.items), 'Decline'), 'Decline offered')
  H.eq('Accept', request.opts.format_item({ title = 'Accept' }), 'items show their titles')
  H.eq(data.answer_after_accept, window.text, 'answer after the command ran')
end)

H.test('an approval closed without a choice is declined', function()
  choose = function()
    return nil
  end
  local window = ask_and_wait('Run the check again')
  H.eq(2, #asked, 'approval requests')
  H.truthy(asked[2].opts.prompt:find(data.command_declined, 1, true), 'prompt: ' .. asked[2].opts.prompt)
  H.eq(data.answer_after_decline, window.text, 'answer after the decline')
end)
