-- Steering against the real server (README "Conversations"): while a slow
-- answer streams, `:CodexSteer {prompt}` adds input to the running turn
-- (`codex.steer`); the answer starts over, and the window ends with the
-- steered answer and the steer noted under the question.
local H = require('harness')
local data = H.data()
local commands = require('codex_ls.commands')

H.test(':CodexSteer on a slow answer restarts it, and the window shows the steered one', function()
  H.open('src/util.rs')
  local window = H.start_answer('CodexAsk ' .. data.prompt)
  H.wait('the slow answer to stream', function()
    local current = H.answer_window(window.token)
    return current and current.answer:find(data.first_chunk, 1, true)
  end, 60000)
  H.type(':CodexSteer ' .. data.steer .. '<CR>')
  H.wait('the steer to show under the question', function()
    return H.answer_window(window.token).text:find('> ' .. data.steer, 1, true)
  end)
  window = H.wait_run_end(window.token, 'completed', 60000)
  local run = commands.runs[window.token]
  H.truthy(run.resets >= 1, 'the answer started over: ' .. run.resets)
  H.eq(data.steered_answer, window.answer, 'the steered answer')
  H.truthy(not window.text:find(data.first_chunk, 1, true), 'the first answer is gone:\n' .. window.text)
end)
