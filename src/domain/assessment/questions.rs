//! Questions for the built-in runner, and the plain text admins edit them in:
//!
//! ```text
//! What is 2 + 2?
//! - 3
//! * 4
//! - 5
//!
//! Which one is a prime?
//! * 7
//! - 8
//! ```
//!
//! A blank line separates questions, a question's first line is its prompt, `* ` marks the
//! right choice and `- ` the others. Every valid list of questions written as text reads back
//! the same, which is why prompts and choices are single lines.

use serde::{Deserialize, Serialize};

use super::FieldError;
use crate::domain::resolution::normalize;

pub const MAX_QUESTIONS: usize = 200;
pub const MIN_CHOICES: usize = 2;
pub const MAX_CHOICES: usize = 10;
const MAX_PROMPT_CHARS: usize = 2_000;
const MAX_CHOICE_CHARS: usize = 500;
const FIELD: &str = "questions";
const RIGHT: char = '*';
const OTHER: char = '-';

/// One multiple-choice question, as stored and as the admin API shows it. `answer` is the
/// index of the right choice: it must never reach a candidate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub prompt: String,
    pub choices: Vec<String>,
    pub answer: usize,
}

/// Questions that passed every check: each has a one-line prompt, 2–10 distinct non-empty
/// choices and a right answer among them; at most 200 of them (none is fine: an external
/// engine may do the grading).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Questions(Vec<Question>);

impl Questions {
    /// Checks every question; each problem cites its question by number.
    pub fn parse(questions: Vec<Question>) -> Result<Self, Vec<FieldError>> {
        if questions.len() > MAX_QUESTIONS {
            return Err(vec![too_many(questions.len())]);
        }
        all_or_problems(questions.into_iter().map(check))
    }

    /// Reads the plain-text format (or, pasted from the API, its JSON list); each problem
    /// cites its question by number.
    pub fn from_text(text: &str) -> Result<Self, Vec<FieldError>> {
        if text.trim_start().starts_with(['[', '{']) {
            return Self::from_json(text);
        }
        let blocks = blocks(text);
        if blocks.len() > MAX_QUESTIONS {
            return Err(vec![too_many(blocks.len())]);
        }
        all_or_problems(blocks.iter().map(|lines| read_block(lines).and_then(check)))
    }

    pub fn as_slice(&self) -> &[Question] {
        &self.0
    }
}

impl Questions {
    /// A JSON list of questions (or one question), each read and checked on its own so
    /// every broken one is named.
    fn from_json(text: &str) -> Result<Self, Vec<FieldError>> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            vec![FieldError::new(FIELD, format!("The questions look like JSON but cannot be read: {e}."))]
        })?;
        let items = match value {
            serde_json::Value::Array(items) => items,
            one => vec![one],
        };
        if items.len() > MAX_QUESTIONS {
            return Err(vec![too_many(items.len())]);
        }
        let read = |item| {
            serde_json::from_value::<Question>(item)
                .map_err(|e| format!("{e}; a question is {{\"prompt\": …, \"choices\": […], \"answer\": <index>}}"))
        };
        all_or_problems(items.into_iter().map(|item| read(item).and_then(check)))
    }
}

/// Writes questions in the plain-text format.
pub fn to_text(questions: &[Question]) -> String {
    let block = |q: &Question| {
        let choices = q.choices.iter().enumerate().map(|(i, choice)| {
            let marker = if i == q.answer { RIGHT } else { OTHER };
            format!("{marker} {choice}")
        });
        std::iter::once(q.prompt.clone()).chain(choices).collect::<Vec<_>>().join("\n")
    };
    questions.iter().map(block).collect::<Vec<_>>().join("\n\n")
}

fn too_many(count: usize) -> FieldError {
    FieldError::new(FIELD, format!("There can be at most {MAX_QUESTIONS} questions; there are {count}."))
}

/// The questions when every one is right, else each wrong one's problem.
fn all_or_problems(checked: impl Iterator<Item = Result<Question, String>>) -> Result<Questions, Vec<FieldError>> {
    let (mut good, mut problems) = (Vec::new(), Vec::new());
    for (i, question) in checked.enumerate() {
        match question {
            Ok(q) => good.push(q),
            Err(problem) => problems.push(numbered(i, &problem)),
        }
    }
    if problems.is_empty() { Ok(Questions(good)) } else { Err(problems) }
}

fn numbered(index: usize, problem: &str) -> FieldError {
    FieldError::new(FIELD, format!("Question {}: {problem}", index + 1))
}

/// Non-blank lines, trimmed, grouped by the blank lines between them.
fn blocks(text: &str) -> Vec<Vec<&str>> {
    let mut blocks = vec![Vec::new()];
    for line in text.lines().map(str::trim) {
        match (line.is_empty(), blocks.last_mut()) {
            (true, Some(last)) if !last.is_empty() => blocks.push(Vec::new()),
            (false, Some(last)) => last.push(line),
            _ => {}
        }
    }
    blocks.retain(|b| !b.is_empty());
    blocks
}

/// `- text` or `* text`: the choice's text and whether it is the right one.
fn as_choice(line: &str) -> Option<(bool, &str)> {
    let rest = line.strip_prefix(RIGHT).map(|r| (true, r)).or_else(|| line.strip_prefix(OTHER).map(|r| (false, r)));
    rest.map(|(right, text)| (right, text.trim()))
}

/// A prompt such as `- 5 is odd` would read back as a choice.
fn looks_like_choice(line: &str) -> bool {
    as_choice(line).is_some_and(|(_, text)| text.is_empty() || line.chars().nth(1).is_some_and(char::is_whitespace))
}

fn read_block(lines: &[&str]) -> Result<Question, String> {
    let (prompt, rest) = lines.split_first().expect("blocks are never empty");
    if looks_like_choice(prompt) {
        return Err("it starts with a choice. Put the question itself on the first line.".into());
    }
    let mut choices = Vec::new();
    let mut right = Vec::new();
    for line in rest {
        let (is_right, text) = as_choice(line).ok_or_else(|| {
            format!(
                "the line \"{line}\" is not a choice. Start choices with \"* \" (the right one) or \"- \" (the \
                 others), and leave a blank line before the next question."
            )
        })?;
        if is_right {
            right.push(choices.len());
        }
        choices.push(text.to_string());
    }
    let answer = match right.as_slice() {
        _ if choices.is_empty() => return Err("it has no choices. List them under the prompt, one per line.".into()),
        [answer] => *answer,
        [] => return Err("no choice is marked right. Start the right choice with \"* \".".into()),
        _ => return Err("more than one choice is marked right with \"* \"; mark exactly one.".into()),
    };
    Ok(Question { prompt: prompt.to_string(), choices, answer })
}

/// Checks one question and trims its text.
fn check(question: Question) -> Result<Question, String> {
    let prompt = question.prompt.trim().to_string();
    if prompt.is_empty() {
        return Err("the prompt is empty.".into());
    }
    check_line("the prompt", &prompt, MAX_PROMPT_CHARS)?;
    if looks_like_choice(&prompt) {
        return Err("the prompt cannot start with \"* \" or \"- \", which mark choices.".into());
    }
    let choices: Vec<String> = question.choices.iter().map(|c| c.trim().to_string()).collect();
    if !(MIN_CHOICES..=MAX_CHOICES).contains(&choices.len()) {
        return Err(format!("it needs {MIN_CHOICES} to {MAX_CHOICES} choices; it has {}.", choices.len()));
    }
    for (i, choice) in choices.iter().enumerate() {
        if choice.is_empty() {
            return Err(format!("choice {} is empty.", i + 1));
        }
        check_line(&format!("choice {}", i + 1), choice, MAX_CHOICE_CHARS)?;
        if let Some(earlier) = choices[..i].iter().position(|c| normalize(c) == normalize(choice)) {
            return Err(format!("choices {} and {} are the same (\"{choice}\").", earlier + 1, i + 1));
        }
    }
    if question.answer >= choices.len() {
        return Err(format!(
            "the answer must be the index of the right choice, counting from 0 (0 to {}); it is {}.",
            choices.len() - 1,
            question.answer
        ));
    }
    Ok(Question { prompt, choices, answer: question.answer })
}

fn check_line(what: &str, text: &str, max_chars: usize) -> Result<(), String> {
    if text.contains(['\n', '\r']) {
        return Err(format!("{what} must be a single line."));
    }
    if text.contains(char::is_control) {
        return Err(format!("{what} contains a control character."));
    }
    let count = text.chars().count();
    if count > max_chars {
        return Err(format!("{what} must be at most {max_chars} characters; it has {count}."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "What is 2 + 2?\n- 3\n* 4\n- 5\n\nWhich one is a prime?\n* 7\n- 8";

    fn q(prompt: &str, choices: &[&str], answer: usize) -> Question {
        Question { prompt: prompt.into(), choices: choices.iter().map(|c| c.to_string()).collect(), answer }
    }

    /// The one problem `text` has.
    fn text_error(text: &str) -> String {
        let mut errors = Questions::from_text(text).expect_err(text);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let error = errors.remove(0);
        assert_eq!(error.field, "questions");
        error.message
    }

    fn json_error(question: Question) -> String {
        let errors = Questions::parse(vec![q("Fine?", &["yes", "no"], 0), question]).expect_err("invalid");
        errors[0].message.clone()
    }

    #[test]
    fn every_broken_question_is_reported() {
        let errors = Questions::from_text("Fine?\n* yes\n- no\n\nNo answer?\n- a\n- b\n\nNo choices?").unwrap_err();
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].starts_with("Question 2: no choice is marked right"));
        assert!(messages[1].starts_with("Question 3: it has no choices"));
    }

    #[test]
    fn the_apis_json_can_be_pasted_too() {
        let json = r#"[{"prompt": "What is 2 + 2?", "choices": ["3", "4"], "answer": 1}]"#;
        assert_eq!(Questions::from_text(json).unwrap().as_slice(), [q("What is 2 + 2?", &["3", "4"], 1)]);
        let broken = Questions::from_text(r#"[{"prompt": "x"}, {"prompt": "y", "choices": ["a", "b"], "answer": -1}]"#);
        let messages: Vec<String> = broken.unwrap_err().into_iter().map(|e| e.message).collect();
        assert_eq!(messages.len(), 2, "each broken question is named: {messages:?}");
        assert!(messages[0].starts_with("Question 1: missing field `choices`"), "{messages:?}");
        assert!(messages[1].starts_with("Question 2: "), "{messages:?}");
        let unreadable = Questions::from_text("[{").unwrap_err();
        assert!(unreadable[0].message.starts_with("The questions look like JSON but cannot be read"), "{unreadable:?}");
        let one = Questions::from_text(r#"{"prompt": "2 + 2?", "choices": ["3", "4"], "answer": 1}"#).unwrap();
        assert_eq!(one.as_slice().len(), 1, "a single question need not be in a list");
    }

    #[test]
    fn reads_the_documented_example() {
        let questions = Questions::from_text(SAMPLE).unwrap();
        assert_eq!(
            questions.as_slice(),
            [q("What is 2 + 2?", &["3", "4", "5"], 1), q("Which one is a prime?", &["7", "8"], 0)]
        );
    }

    #[test]
    fn text_round_trips_both_ways() {
        let questions = Questions::from_text(SAMPLE).unwrap();
        assert_eq!(to_text(questions.as_slice()), SAMPLE);
        let odd = vec![q("-5 + 3 = ?", &["-2", "* 8", "2"], 0), q("*Bold* claim?", &["- yes", "no"], 1)];
        let parsed = Questions::parse(odd.clone()).unwrap();
        assert_eq!(Questions::from_text(&to_text(parsed.as_slice())).unwrap().as_slice(), odd);
    }

    #[test]
    fn tolerates_spacing_crlf_and_extra_blank_lines() {
        let text =
            "\r\n\n  What is 2 + 2?  \r\n-3\r\n*   4\r\n  - 5\r\n\r\n \t \n\nWhich one is a prime?\n* 7\n- 8\n\n";
        assert_eq!(Questions::from_text(text).unwrap(), Questions::from_text(SAMPLE).unwrap());
    }

    #[test]
    fn empty_text_means_no_questions() {
        assert!(Questions::from_text("").unwrap().as_slice().is_empty());
        assert!(Questions::from_text(" \n\n  ").unwrap().as_slice().is_empty());
        assert_eq!(to_text(&[]), "");
    }

    #[test]
    fn text_errors_cite_the_question_number() {
        let cases = [
            ("Q?\n- a\n- b", "Question 1: no choice is marked right"),
            ("Q?\n* a\n- b\n\nR?\n* a\n* b", "Question 2: more than one choice is marked right"),
            ("Q?\n* a\n- b\n\nR?", "Question 2: it has no choices"),
            ("Q?\n* a\nR?\n- b", "Question 1: the line \"R?\" is not a choice"),
            ("- 3\n* 4\n- 5", "Question 1: it starts with a choice"),
            ("Q?\n* a\n- b\n\nR?\n* a\n- b\n\nS?\n* only", "Question 3: it needs 2 to 10 choices; it has 1"),
            ("Q?\n* a\n- \n- b", "Question 1: choice 2 is empty"),
            ("Q?\n* Yes\n- yes", "Question 1: choices 1 and 2 are the same"),
        ];
        for (text, expected) in cases {
            let message = text_error(text);
            assert!(message.starts_with(expected), "{text:?}: {message}");
        }
    }

    #[test]
    fn json_questions_are_checked_and_trimmed() {
        let parsed = Questions::parse(vec![q("  Q? ", &[" a ", "b"], 1)]).unwrap();
        assert_eq!(parsed.as_slice(), [q("Q?", &["a", "b"], 1)]);
        assert!(Questions::parse(Vec::new()).unwrap().as_slice().is_empty());
    }

    #[test]
    fn json_errors_say_what_is_wrong() {
        let eleven: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
        let cases = [
            (q("  ", &["a", "b"], 0), "Question 2: the prompt is empty"),
            (q("Two\nlines", &["a", "b"], 0), "Question 2: the prompt must be a single line"),
            (q("- Q", &["a", "b"], 0), "Question 2: the prompt cannot start with"),
            (q(&"x".repeat(2_001), &["a", "b"], 0), "Question 2: the prompt must be at most 2000 characters"),
            (q("Q?", &["a"], 0), "Question 2: it needs 2 to 10 choices; it has 1"),
            (q("Q?", &eleven, 0), "Question 2: it needs 2 to 10 choices; it has 11"),
            (q("Q?", &["a", " "], 0), "Question 2: choice 2 is empty"),
            (q("Q?", &["a", "b\tc\u{7}"], 0), "Question 2: choice 2 contains a control character"),
            (q("Q?", &["a b", "A  B"], 0), "Question 2: choices 1 and 2 are the same"),
            (
                q("Q?", &["a", "b"], 2),
                "Question 2: the answer must be the index of the right choice, counting from 0 (0 to 1); it is 2",
            ),
        ];
        for (question, expected) in cases {
            let message = json_error(question.clone());
            assert!(message.starts_with(expected), "{question:?}: {message}");
        }
    }

    #[test]
    fn at_most_two_hundred_questions() {
        let many = vec![q("Q?", &["a", "b"], 0); MAX_QUESTIONS];
        assert!(Questions::parse(many.clone()).is_ok());
        let too_many = vec![q("Q?", &["a", "b"], 0); MAX_QUESTIONS + 1];
        assert!(
            Questions::parse(too_many.clone()).unwrap_err()[0].message.contains("at most 200 questions; there are 201")
        );
        assert!(Questions::from_text(&to_text(&too_many)).unwrap_err()[0].message.contains("there are 201"));
    }
}
