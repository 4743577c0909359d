-- :CodexCancel on a hung run ends it within 1 s; so does the answer
-- window's cancel key. A cancel by the user publishes no diagnostic.
local H = require('harness')
local data = H.data()

--- Starts a run on a Visual selection and waits until its first words
--- arrived (the model then hangs).
local function start_hung_run()
  local window = H.start_answer('CodexAsk ' .. data.prompt, { 2, 3 })
  H.wait('the first words of the hung answer', function()
    local current = H.answer_window(window.token)
    return current and current.answer == data.partial
  end)
  return window
end

local function wait_interrupted(window, started)
  local current = H.wait('the run to end as interrupted', function()
    local w = H.answer_window(window.token)
    return w and w.title:find('interrupted', 1, true) and w
  end, 5000)
  local elapsed = H.now_ms() - started
  H.log(('  cancel to interrupted: %.0f ms'):format(elapsed))
  H.truthy(elapsed < 1000, ('the run ended %.0f ms after the cancel (limit 1000)'):format(elapsed))
  H.truthy(current.text:find('Cancelled', 1, true), 'the window says so: ' .. current.text)
end

H.test(':CodexCancel ends a hung run within 1 s', function()
  local bufnr = H.open('src/lib.rs')
  local window = start_hung_run()
  local started = H.now_ms()
  H.type(':CodexCancel<CR>')
  wait_interrupted(window, started)
  H.eq({}, vim.diagnostic.get(bufnr), 'no diagnostics after a cancel')
end)

H.test("the answer window's cancel key ends a hung run within 1 s", function()
  local window = start_hung_run()
  vim.api.nvim_set_current_win(window.win)
  local started = H.now_ms()
  H.type('<C-c>')
  wait_interrupted(window, started)
end)
