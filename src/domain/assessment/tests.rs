use super::*;

fn form() -> AssessmentForm {
    AssessmentForm {
        name: "  Backend   Engineer ".into(),
        pass_mark: "70".into(),
        time_limit_minutes: " 45 ".into(),
        expires_after_days: "".into(),
        active: Some("on".into()),
        instructions: "Read carefully.\r\nGood luck!\r\n".into(),
        questions: "What is 2 + 2?\r\n- 3\r\n* 4\r\n".into(),
    }
}

fn input() -> AssessmentInput {
    AssessmentInput {
        name: Some("Backend Engineer".into()),
        pass_mark: Some(70),
        time_limit_minutes: Some(45),
        ..Default::default()
    }
}

/// A change that makes input invalid, the field to blame and what its error says.
type Case<T> = (fn(&mut T), &'static str, &'static str);

/// The one error a form gives, as (field, message).
fn form_error(change: impl FnOnce(&mut AssessmentForm)) -> (&'static str, String) {
    let mut form = form();
    change(&mut form);
    let errors = ValidAssessment::from_form(&form).expect_err("the form is invalid");
    assert_eq!(errors.len(), 1, "{errors:?}");
    (errors[0].field, errors[0].message.clone())
}

fn input_error(change: impl FnOnce(&mut AssessmentInput)) -> (&'static str, String) {
    let mut input = input();
    change(&mut input);
    let errors = ValidAssessment::from_input(input).expect_err("the input is invalid");
    assert_eq!(errors.len(), 1, "{errors:?}");
    (errors[0].field, errors[0].message.clone())
}

#[test]
fn a_good_form_parses_with_tidied_values_and_defaults() {
    let valid = ValidAssessment::from_form(&form()).unwrap();
    assert_eq!(valid.name().as_str(), "Backend Engineer");
    assert_eq!((valid.pass_mark(), valid.time_limit_minutes(), valid.expires_after_days()), (70, 45, 7));
    assert!(valid.active());
    assert_eq!(valid.instructions(), "Read carefully.\nGood luck!");
    let question = Question { prompt: "What is 2 + 2?".into(), choices: vec!["3".into(), "4".into()], answer: 1 };
    assert_eq!(valid.questions().as_slice(), [question]);

    let unticked = ValidAssessment::from_form(&AssessmentForm { active: None, ..form() }).unwrap();
    assert!(!unticked.active());
}

#[test]
fn api_input_has_defaults_for_the_optional_fields() {
    let valid = ValidAssessment::from_input(input()).unwrap();
    assert_eq!(valid.expires_after_days(), DEFAULT_EXPIRES_AFTER_DAYS);
    assert!(valid.active());
    assert_eq!(valid.instructions(), "");
    assert!(valid.questions().as_slice().is_empty());
}

#[test]
fn each_form_field_is_named_in_its_error() {
    let cases: [Case<AssessmentForm>; 10] = [
        (|f| f.name = " \t ".into(), "name", "The assessment needs a name"),
        (|f| f.name = "x".repeat(121), "name", "at most 120 characters; it has 121"),
        (|f| f.name = "Bell\u{7}".into(), "name", "control characters"),
        (|f| f.pass_mark = "".into(), "pass_mark", "from 0 to 100 (percent); it is missing"),
        (|f| f.pass_mark = "seventy".into(), "pass_mark", "a whole number from 0 to 100 (percent); it is \"seventy\""),
        (|f| f.pass_mark = "101".into(), "pass_mark", "; it is 101"),
        (|f| f.time_limit_minutes = "0".into(), "time_limit_minutes", "from 1 to 1440 (minutes); it is 0"),
        (|f| f.expires_after_days = "366".into(), "expires_after_days", "from 1 to 365 (days); it is 366"),
        (|f| f.instructions = "x".repeat(10_001), "instructions", "at most 10000 characters; they have 10001"),
        (|f| f.questions = "Q?\n- a\n- b".into(), "questions", "Question 1: no choice is marked right"),
    ];
    for (change, field, says) in cases {
        let (got_field, message) = form_error(change);
        assert_eq!(got_field, field, "{message}");
        assert!(message.contains(says), "{field}: {message}");
    }
}

#[test]
fn each_api_field_is_named_in_its_error() {
    let cases: [Case<AssessmentInput>; 8] = [
        (|i| i.name = None, "name", "needs a name"),
        (|i| i.pass_mark = None, "pass_mark", "it is missing"),
        (|i| i.pass_mark = Some(-1), "pass_mark", "it is -1"),
        (|i| i.time_limit_minutes = None, "time_limit_minutes", "it is missing"),
        (|i| i.time_limit_minutes = Some(1441), "time_limit_minutes", "it is 1441"),
        (|i| i.expires_after_days = Some(0), "expires_after_days", "it is 0"),
        (|i| i.expires_after_days = Some(i64::MAX), "expires_after_days", "from 1 to 365"),
        (
            |i| i.questions = Some(vec![Question { prompt: "Q".into(), choices: vec!["a".into()], answer: 0 }]),
            "questions",
            "Question 1: it needs 2 to 10 choices",
        ),
    ];
    for (change, field, says) in cases {
        let (got_field, message) = input_error(change);
        assert_eq!(got_field, field, "{message}");
        assert!(message.contains(says), "{field}: {message}");
    }
}

#[test]
fn every_problem_is_reported_at_once_in_form_order() {
    let bad = AssessmentForm { name: "".into(), pass_mark: "x".into(), questions: "Q?".into(), ..form() };
    let fields: Vec<_> = ValidAssessment::from_form(&bad).unwrap_err().iter().map(|e| e.field).collect();
    assert_eq!(fields, ["name", "pass_mark", "questions"]);
}

#[test]
fn the_boundaries_are_inclusive() {
    for (pass_mark, minutes, days) in [(0, 1, 1), (100, 1440, 365)] {
        let input = AssessmentInput {
            pass_mark: Some(pass_mark),
            time_limit_minutes: Some(minutes),
            expires_after_days: Some(days),
            ..input()
        };
        assert!(ValidAssessment::from_input(input).is_ok(), "{pass_mark} {minutes} {days}");
    }
    assert_eq!(AssessmentName::parse(&"x".repeat(120)).unwrap().as_str().len(), 120);
}

#[test]
fn a_partial_update_keeps_what_it_does_not_mention() {
    let stored = AssessmentInput { expires_after_days: Some(30), active: Some(false), ..input() };
    let patch = AssessmentInput { pass_mark: Some(80), ..Default::default() };
    let valid = ValidAssessment::from_input(patch.or(stored)).unwrap();
    assert_eq!((valid.name().as_str(), valid.pass_mark(), valid.expires_after_days()), ("Backend Engineer", 80, 30));
    assert!(!valid.active());
}

#[test]
fn names_are_stored_with_tidy_spacing_and_keep_their_case() {
    assert_eq!(AssessmentName::parse(" Backend \n Engineer ").unwrap().as_str(), "Backend Engineer");
    assert_eq!(AssessmentName::parse("iOS  Developer").unwrap().as_str(), "iOS Developer");
}

#[test]
fn codes_are_fc_and_five_digits() {
    assert_eq!(AssessmentCode::from_number(81519).as_str(), "FC-81519");
    assert_eq!(AssessmentCode::from_number(42).as_str(), "FC-00042");
    for _ in 0..200 {
        let code = AssessmentCode::random();
        let (prefix, digits) = code.as_str().split_at(3);
        assert!(prefix == "FC-" && digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit()), "{code:?}");
    }
}
