//! Scoring the built-in runner: the percentage of questions answered right, against the
//! assessment's pass mark.

use std::collections::HashMap;

pub use super::assessment::Question;

#[derive(Debug, PartialEq, Eq)]
pub struct Scored {
    pub score: i32,
    pub passed: bool,
    pub failure_reason: Option<String>,
}

/// The chosen choice per question from a submitted form (`q1`, `q2`, … hold a choice
/// index); missing or nonsense answers count as unanswered.
pub fn read_answers(fields: &HashMap<String, String>, questions: usize) -> Vec<Option<usize>> {
    (1..=questions).map(|n| fields.get(&format!("q{n}")).and_then(|v| v.trim().parse().ok())).collect()
}

pub fn score(questions: &[Question], chosen: &[Option<usize>], pass_mark: i32) -> Scored {
    let total = questions.len();
    let right = questions.iter().zip(chosen).filter(|(q, c)| **c == Some(q.answer)).count();
    let score = if total == 0 { 0 } else { ((right * 100) as f64 / total as f64).round() as i32 };
    let passed = score >= pass_mark;
    let failure_reason = (!passed).then(|| {
        let unanswered = chosen.iter().filter(|c| c.is_none()).count();
        let mut reason = format!("{right} of {total} answers right ({score}%), below the pass mark of {pass_mark}%.");
        if unanswered > 0 {
            reason.push_str(&format!(" {unanswered} left unanswered."));
        }
        reason
    });
    Scored { score, passed, failure_reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(answer: usize) -> Question {
        Question { prompt: "?".into(), choices: vec!["a".into(), "b".into(), "c".into()], answer }
    }

    #[test]
    fn scores_the_share_of_right_answers() {
        let questions = [q(0), q(1), q(2)];
        let all = score(&questions, &[Some(0), Some(1), Some(2)], 70);
        assert_eq!(all, Scored { score: 100, passed: true, failure_reason: None });
        let two = score(&questions, &[Some(0), Some(1), Some(0)], 70);
        assert_eq!((two.score, two.passed), (67, false));
        assert!(two.failure_reason.unwrap().contains("2 of 3"));
        let none = score(&questions, &[None, None, Some(5)], 0);
        assert_eq!((none.score, none.passed), (0, true));
    }

    #[test]
    fn reads_form_answers_defensively() {
        let fields: HashMap<String, String> =
            [("q1", "2"), ("q2", "x"), ("q9", "1")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(read_answers(&fields, 3), vec![Some(2), None, None]);
    }
}
