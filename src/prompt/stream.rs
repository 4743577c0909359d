//! The answer as it streams: text keyed by agent-message item so a retry
//! (a new item) starts the answer over instead of duplicating it, and the
//! coalescing buffer that turns many deltas into few progress reports
//! without losing or reordering any text, and the short human-readable step
//! each report shows (clients such as Helix show it in their status line).

/// The step a run shows before any text streams.
pub const WORKING: &str = "Codex is working…";

/// A piece of the answer to pass on. `reset` means: forget what came before
/// and start the answer over with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerDelta {
    pub text: String,
    pub reset: bool,
}

/// The answer of a turn, streamed item by item.
#[derive(Debug, Default)]
pub struct AnswerText {
    item_id: Option<String>,
    /// The text streamed since the last reset: the current item's text.
    streamed: String,
    /// The last completed agent message: the final answer.
    completed: Option<String>,
}

impl AnswerText {
    /// Takes a delta of item `item_id`. A delta of a new item restarts the
    /// answer (codex retries and multi-message turns both stream new items;
    /// the final answer is the last message).
    pub fn push(&mut self, item_id: &str, delta: &str) -> AnswerDelta {
        let reset = self.item_id.as_deref() != Some(item_id) && !self.streamed.is_empty();
        if self.item_id.as_deref() != Some(item_id) {
            self.item_id = Some(item_id.to_string());
            self.streamed.clear();
        }
        self.streamed.push_str(delta);
        AnswerDelta {
            text: delta.to_string(),
            reset,
        }
    }

    /// Records a completed agent message. If what was streamed differs from
    /// its final text, returns the correction that makes the stream equal
    /// the answer again.
    pub fn complete(&mut self, item_id: &str, text: &str) -> Option<AnswerDelta> {
        self.completed = Some(text.to_string());
        if self.item_id.as_deref() == Some(item_id) && self.streamed == text {
            return None;
        }
        if self.item_id.as_deref() == Some(item_id)
            && let Some(rest) = text.strip_prefix(self.streamed.as_str())
        {
            self.streamed.push_str(rest);
            return Some(AnswerDelta {
                text: rest.to_string(),
                reset: false,
            });
        }
        let reset = !self.streamed.is_empty();
        self.item_id = Some(item_id.to_string());
        self.streamed = text.to_string();
        Some(AnswerDelta {
            text: text.to_string(),
            reset,
        })
    }

    /// Makes the stream equal `final_text` (when the answer comes only from
    /// `turn/completed`); returns the correction, if one is needed.
    pub fn settle(&mut self, final_text: &str) -> Option<AnswerDelta> {
        if self.streamed == final_text {
            return None;
        }
        let reset = !self.streamed.is_empty();
        self.streamed = final_text.to_string();
        Some(AnswerDelta {
            text: final_text.to_string(),
            reset,
        })
    }

    /// The final answer: the last completed agent message, else what streamed.
    pub fn final_text(&self) -> Option<&str> {
        let streamed = self.item_id.as_ref().map(|_| self.streamed.as_str());
        self.completed.as_deref().or(streamed)
    }
}

/// One coalesced progress report's worth of answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportBatch {
    pub delta: String,
    pub reset: bool,
    pub seq: u64,
}

/// What the streamed text is. Edit and review runs stream JSON (their
/// structured answer), which is never shown to the user as a step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StreamedForm {
    /// A prose answer: its tail is worth showing.
    #[default]
    Prose,
    /// An edit's `{ replacement, explanation }`.
    Edit,
    /// A review's `{ findings }`.
    Review,
}

/// Gathers deltas between two reports. Lossless: the concatenation of the
/// batches' deltas (from the last reset on) is the concatenation of the
/// deltas pushed (from the last reset on).
#[derive(Debug, Default)]
pub struct ReportBuffer {
    form: StreamedForm,
    pending: String,
    reset: bool,
    seq: u64,
    /// The answer since the last reset's last line, for a short message.
    tail: String,
}

/// How many characters of the answer's end a report's message shows.
const TAIL_CHARS: usize = 80;

impl ReportBuffer {
    pub fn new(form: StreamedForm) -> ReportBuffer {
        ReportBuffer {
            form,
            ..ReportBuffer::default()
        }
    }

    pub fn push(&mut self, delta: &AnswerDelta) {
        if delta.reset {
            self.pending.clear();
            self.tail.clear();
            self.reset = true;
        }
        self.pending.push_str(&delta.text);
        self.tail.push_str(&delta.text);
        // Keep enough bytes for TAIL_CHARS characters of up to 4 bytes each.
        if self.tail.len() > 8 * TAIL_CHARS {
            let cut = self.tail.len() - 4 * TAIL_CHARS - 4;
            let cut = (cut..self.tail.len())
                .find(|i| self.tail.is_char_boundary(*i))
                .unwrap_or(0);
            self.tail.drain(..cut);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && !self.reset
    }

    /// Takes what has gathered since the last batch, if anything.
    pub fn take(&mut self) -> Option<ReportBatch> {
        if self.is_empty() {
            return None;
        }
        Some(self.take_report())
    }

    /// The next report's batch, even when no text came (a report of
    /// steps only): every report has its `seq`.
    pub fn take_report(&mut self) -> ReportBatch {
        self.seq += 1;
        ReportBatch {
            delta: std::mem::take(&mut self.pending),
            reset: std::mem::take(&mut self.reset),
            seq: self.seq,
        }
    }

    /// The report's `message`: the current step, in one short line of
    /// human text. A prose answer shows its tail; structured answers only
    /// say what is being written.
    pub fn message(&self) -> String {
        match self.form {
            StreamedForm::Edit => "Codex is writing the edit…".to_string(),
            StreamedForm::Review => "Codex is writing the review…".to_string(),
            StreamedForm::Prose => match self.tail_line() {
                tail if tail.is_empty() => WORKING.to_string(),
                tail => format!("Writing the answer: {tail}"),
            },
        }
    }

    /// A short single-line tail of the answer.
    fn tail_line(&self) -> String {
        let line = self
            .tail
            .trim_end()
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .trim();
        let count = line.chars().count();
        if count <= TAIL_CHARS {
            line.to_string()
        } else {
            let skip = count - (TAIL_CHARS - 1);
            format!("…{}", line.chars().skip(skip).collect::<String>())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(events: &[AnswerDelta]) -> String {
        let mut text = String::new();
        for event in events {
            if event.reset {
                text.clear();
            }
            text.push_str(&event.text);
        }
        text
    }

    #[test]
    fn a_retry_starts_the_answer_over() {
        let mut answer = AnswerText::default();
        let mut events = vec![answer.push("m1", "First att"), answer.push("m1", "empt")];
        events.push(answer.push("m2", "Second "));
        assert!(events[2].reset);
        events.push(answer.push("m2", "attempt."));
        events.extend(answer.complete("m2", "Second attempt."));
        assert_eq!(replay(&events), "Second attempt.");
        assert_eq!(answer.final_text(), Some("Second attempt."));
    }

    #[test]
    fn a_completed_text_that_differs_is_corrected() {
        let mut answer = AnswerText::default();
        let mut events = vec![answer.push("m1", "Hel")];
        events.extend(answer.complete("m1", "Hello"));
        assert_eq!(replay(&events), "Hello");
        let mut other = AnswerText::default();
        let mut events = vec![other.push("m1", "abc")];
        events.extend(other.complete("m1", "xyz"));
        assert_eq!(replay(&events), "xyz");
        assert!(events[1].reset);
        let mut settled = AnswerText::default();
        assert_eq!(settled.final_text(), None);
        assert_eq!(
            settled.settle("only at the end"),
            Some(AnswerDelta {
                text: "only at the end".into(),
                reset: false
            })
        );
    }

    #[test]
    fn batches_are_lossless_and_ordered() {
        let mut buffer = ReportBuffer::default();
        let mut answer = AnswerText::default();
        let mut batches = Vec::new();
        for (i, piece) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            buffer.push(&answer.push("m", piece));
            if i % 2 == 1 {
                batches.extend(buffer.take());
            }
        }
        buffer.push(&answer.push("n", "X"));
        buffer.push(&answer.push("n", "Y"));
        batches.extend(buffer.take());
        assert!(buffer.take().is_none());
        let as_deltas: Vec<AnswerDelta> = batches
            .iter()
            .map(|b| AnswerDelta {
                text: b.delta.clone(),
                reset: b.reset,
            })
            .collect();
        assert_eq!(replay(&as_deltas), "XY");
        let seqs: Vec<u64> = batches.iter().map(|b| b.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        assert_eq!(batches[0].delta, "ab");
    }

    #[test]
    fn message_is_a_short_single_line_tail() {
        let mut buffer = ReportBuffer::default();
        buffer.push(&AnswerDelta {
            text: "first line\nsecond line\n".into(),
            reset: false,
        });
        assert_eq!(buffer.message(), "Writing the answer: second line");
        buffer.push(&AnswerDelta {
            text: "é".repeat(500),
            reset: false,
        });
        let message = buffer.message();
        let tail = message.strip_prefix("Writing the answer: ").unwrap();
        assert_eq!(tail.chars().count(), TAIL_CHARS);
        assert!(tail.starts_with('…'));
        assert_eq!(ReportBuffer::default().message(), WORKING);
    }

    #[test]
    fn structured_answers_show_a_step_and_never_their_json() {
        for (form, step) in [
            (StreamedForm::Edit, "Codex is writing the edit…"),
            (StreamedForm::Review, "Codex is writing the review…"),
        ] {
            let mut buffer = ReportBuffer::new(form);
            buffer.push(&AnswerDelta {
                text: "{\"replacement\":\"x\",".into(),
                reset: false,
            });
            assert_eq!(buffer.message(), step);
            assert_eq!(buffer.take().unwrap().delta, "{\"replacement\":\"x\",");
        }
    }
}
