--- The agent's steps as lines of the answer window: one line per step
--- (`▸ Ran `cargo test` (exit 0)`), and, when the user expanded it, its
--- details below, indented: a command's output, a reasoning summary, the
--- plan as a checklist, each changed file with its diff.
local protocol = require('codex_ls.protocol')

local M = {}

--- Marks of a step's line: folded, expanded.
M.folded = '▸ '
M.expanded = '▾ '

--- How much of a command's output an expanded step shows: its tail, as a
--- terminal would have it on screen after the command.
M.output_lines = 200

local plan_marks = { completed = '[x]', inProgress = '[~]', pending = '[ ]' }

local function split(text)
  local lines = vim.split(text, '\n', { plain = true })
  if lines[#lines] == '' then
    table.remove(lines)
  end
  return lines
end

--- A changed file's path as the user reads it: the server sends it
--- absolute, as Codex resolved it; under the current directory (the
--- workspace, usually) or home it is shortened.
---@param path any
---@return string
function M.display_path(path)
  if type(path) ~= 'string' or path == '' then
    return '?'
  end
  return vim.fn.fnamemodify(path, ':~:.')
end

--- The step's one line: its title, and the state a title does not say.
---@param step codex_ls.Step
---@return string
function M.headline(step)
  local title = step.title ~= '' and step.title or step.type
  if step.status == 'failed' or step.status == 'declined' then
    if not title:lower():find(step.status, 1, true) then
      title = ('%s (%s)'):format(title, step.status)
    end
  end
  return (title:gsub('\n', ' '))
end

--- The details of an expanded step, each line indented by two spaces.
---@param step codex_ls.Step
---@return string[]
function M.details(step)
  local lines = {}
  local function add(text)
    for _, line in ipairs(split(text)) do
      lines[#lines + 1] = '  ' .. line
    end
  end
  if step.command then
    add('$ ' .. step.command .. (step.cwd and ('   (in ' .. step.cwd .. ')') or ''))
  end
  if type(step.plan) == 'table' then
    for _, entry in ipairs(step.plan) do
      add(('%s %s'):format(plan_marks[entry.status] or '[ ]', entry.step or ''))
    end
  end
  if type(step.text) == 'string' and step.text ~= '' then
    add(step.text)
  end
  if type(step.output) == 'string' and step.output ~= '' then
    local output = split(step.output)
    if #output > M.output_lines then
      add(('… %d earlier lines'):format(#output - M.output_lines))
      output = vim.list_slice(output, #output - M.output_lines + 1)
    end
    for _, line in ipairs(output) do
      lines[#lines + 1] = '  ' .. line
    end
  end
  if type(step.changes) == 'table' then
    for _, change in ipairs(step.changes) do
      add(('%s %s'):format(change.kind or 'update', M.display_path(change.path)))
      add(table.concat(protocol.diff_lines(change), '\n'))
    end
  end
  return lines
end

--- The lines of every step, and for each line the id of the step it
--- belongs to (so `<CR>` on any of them toggles that step).
---@param list codex_ls.Step[]
---@param expanded table<string, boolean>
---@return string[] lines, string[] owners
function M.lines(list, expanded)
  local lines, owners = {}, {}
  for _, step in ipairs(list) do
    local open = expanded[step.id] == true
    lines[#lines + 1] = (open and M.expanded or M.folded) .. M.headline(step)
    owners[#lines] = step.id
    if open then
      for _, line in ipairs(M.details(step)) do
        lines[#lines + 1] = line
        owners[#lines] = step.id
      end
    end
  end
  return lines, owners
end

return M
