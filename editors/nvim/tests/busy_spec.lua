-- A conversation kept busy by a run its window does not show (a rewrite on
-- the same document), against the real server: `:CodexAsk` is refused at
-- once by codex-ls (`InvalidRequest`, `data.busy`); the plugin says so in
-- its own words (:CodexSteer, :CodexCancel, :CodexAsk!) and leaves no
-- failed exchange behind; `:CodexAsk!` queues the question after the
-- rewrite, and it is answered.
local H = require('harness')
local data = H.data()
local commands = require('codex_ls.commands')

--- Captures `vim.notify` messages while `fn` runs.
local function capture_notify(fn)
  local messages = {}
  local notify = vim.notify
  vim.notify = function(message)
    messages[#messages + 1] = message
  end
  local ok, err = pcall(fn, messages)
  vim.notify = notify
  assert(ok, err)
end

--- The newest run of the plugin with `command`, started after `since`.
local function newest(command, since)
  local found
  for _, run in pairs(commands.runs) do
    if run.command == command and run.started_at > since and (not found or run.started_at > found.started_at) then
      found = run
    end
  end
  return found
end

H.test('a question on a document busy with a rewrite is refused in the plugin’s words, and ! queues it', function()
  local bufnr = H.open('src/lib.rs')
  local since = vim.uv.hrtime()
  H.select_lines(2, 4)
  H.type(':CodexRewrite ' .. data.instruction .. '<CR>')
  local rewrite = H.wait('the rewrite to run', function()
    local run = newest('codex.rewrite', since)
    return run and run.reports > 0 and run
  end, 60000)
  capture_notify(function(messages)
    H.type('<Esc>:CodexAsk ' .. data.prompt .. '<CR>')
    local refused = H.wait('the question to be refused', function()
      local run = newest('codex.run', since)
      return run and run.ended_at and run
    end)
    H.eq('busy', refused.error and refused.error.code, 'refused as busy: ' .. vim.inspect(refused.error))
    local told = H.wait('the refusal to be told', function()
      for _, message in ipairs(messages) do
        if message:find('busy', 1, true) then
          return message
        end
      end
    end)
    for _, offer in ipairs({ ':CodexSteer', ':CodexCancel', ':CodexAsk!' }) do
      H.truthy(told:find(offer, 1, true), 'offers ' .. offer .. ': ' .. told)
    end
    H.truthy(not told:find('codex.steer', 1, true), 'in the plugin’s words: ' .. told)
    H.eq(0, #H.answer_windows(), 'no window left with a failed exchange')
  end)
  H.eq(nil, rewrite.ended_at, 'the rewrite goes on')

  since = vim.uv.hrtime()
  H.type(':CodexAsk! ' .. data.prompt .. '<CR>')
  local queued = H.wait('the queued question to start', function()
    return newest('codex.run', since)
  end)
  local window = H.wait_run_end(queued.token, 'completed', 60000)
  H.truthy(rewrite.ended_at, 'it was answered after the rewrite')
  H.eq(data.answer, window.answer, 'the queued answer')
  H.eq(1, #vim.tbl_filter(function(line)
    return line:find('## ' .. data.prompt, 1, true) ~= nil
  end, vim.split(window.text, '\n')), 'one exchange for the question:\n' .. window.text)
  H.wait('the rewrite to land', function()
    return H.text(bufnr):find(data.rewritten, 1, true)
  end)
end)
