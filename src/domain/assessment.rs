//! An assessment's settings, parsed once at the edge ("parse, don't validate"): from the
//! admin form's text or the API's JSON into a [`ValidAssessment`], with every problem named
//! by its field and said in plain words. Also the codes (`FC-81519`). Names and tags are
//! compared as tag resolution compares them ([`super::resolution::normalize`]).

mod questions;

use serde::Deserialize;

pub use questions::{MAX_CHOICES, MAX_QUESTIONS, MIN_CHOICES, Question, Questions, to_text as questions_to_text};

pub const MAX_NAME_CHARS: usize = 120;
pub const MAX_INSTRUCTIONS_CHARS: usize = 10_000;
pub const DEFAULT_EXPIRES_AFTER_DAYS: i32 = 7;

/// What is wrong with one field: `field` is its API name, `message` a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

fn collapse_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A name with its spacing tidied (trimmed, inner runs of white space made one space). Its
/// `normalize`d form is the database's `name_key`, unique per organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssessmentName(String);

impl AssessmentName {
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let name = collapse_spaces(text);
        let count = name.chars().count();
        let problem = if name.is_empty() {
            "The assessment needs a name, e.g. \"Backend Engineer\".".to_string()
        } else if count > MAX_NAME_CHARS {
            format!("The name must be at most {MAX_NAME_CHARS} characters; it has {count}.")
        } else if name.contains(char::is_control) {
            "The name cannot contain control characters.".to_string()
        } else {
            return Ok(Self(name));
        };
        Err(FieldError::new("name", problem))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The Codejudge-style tag, `FC-` and five digits: assigned by Fulcrum, never edited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssessmentCode(String);

impl AssessmentCode {
    /// A random code. Codes are short enough to type into Lever, so two can collide: the
    /// caller draws again when the database says the code is taken.
    pub fn random() -> Self {
        Self::from_number(rand::random_range(0..100_000))
    }

    fn from_number(number: u32) -> Self {
        Self(format!("FC-{:05}", number % 100_000))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A whole-number setting and the range it must fall in.
struct Bounded {
    field: &'static str,
    what: &'static str,
    min: i64,
    max: i64,
    unit: &'static str,
}

const PASS_MARK: Bounded = Bounded { field: "pass_mark", what: "pass mark", min: 0, max: 100, unit: "percent" };
const TIME_LIMIT: Bounded =
    Bounded { field: "time_limit_minutes", what: "time limit", min: 1, max: 1440, unit: "minutes" };
const EXPIRY: Bounded =
    Bounded { field: "expires_after_days", what: "invitation expiry", min: 1, max: 365, unit: "days" };

impl Bounded {
    fn error(&self, found: &str) -> FieldError {
        let Self { what, min, max, unit, .. } = self;
        FieldError::new(self.field, format!("The {what} must be a whole number from {min} to {max} ({unit}){found}."))
    }

    fn check(&self, value: i64) -> Result<i32, FieldError> {
        // The bounds are small, so a value within them fits an i32.
        if (self.min..=self.max).contains(&value) {
            Ok(value as i32)
        } else {
            Err(self.error(&format!("; it is {value}")))
        }
    }

    fn required(&self, value: Option<i64>) -> Result<i32, FieldError> {
        value.ok_or_else(|| self.error("; it is missing")).and_then(|v| self.check(v))
    }

    /// A form's text; empty means `default` when there is one.
    fn parse_text(&self, text: &str, default: Option<i32>) -> Result<i32, FieldError> {
        match (text.trim(), default) {
            ("", Some(default)) => Ok(default),
            ("", None) => self.required(None),
            (text, _) => {
                text.parse().map_err(|_| self.error(&format!("; it is \"{text}\""))).and_then(|v| self.check(v))
            }
        }
    }
}

fn parse_instructions(text: &str) -> Result<String, FieldError> {
    // Browsers send form text with CRLF line ends.
    let text = text.replace("\r\n", "\n").trim().to_string();
    let count = text.chars().count();
    if count > MAX_INSTRUCTIONS_CHARS {
        let message =
            format!("The instructions must be at most {MAX_INSTRUCTIONS_CHARS} characters; they have {count}.");
        return Err(FieldError::new("instructions", message));
    }
    Ok(text)
}

/// An assessment's settings as the API receives them: any field may be missing.
#[derive(Clone, Debug, Default)]
pub struct AssessmentInput {
    pub name: Option<String>,
    pub pass_mark: Option<i64>,
    pub time_limit_minutes: Option<i64>,
    pub expires_after_days: Option<i64>,
    pub active: Option<bool>,
    pub instructions: Option<String>,
    pub questions: Option<Vec<Question>>,
}

impl AssessmentInput {
    /// The fields given here, and `base`'s for the rest: a partial update over what is stored.
    pub fn or(self, base: Self) -> Self {
        Self {
            name: self.name.or(base.name),
            pass_mark: self.pass_mark.or(base.pass_mark),
            time_limit_minutes: self.time_limit_minutes.or(base.time_limit_minutes),
            expires_after_days: self.expires_after_days.or(base.expires_after_days),
            active: self.active.or(base.active),
            instructions: self.instructions.or(base.instructions),
            questions: self.questions.or(base.questions),
        }
    }
}

/// The admin form's fields as typed, kept to show the form again when something is wrong.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AssessmentForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub pass_mark: String,
    #[serde(default)]
    pub time_limit_minutes: String,
    #[serde(default)]
    pub expires_after_days: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    pub active: Option<String>,
    #[serde(default)]
    pub instructions: String,
    /// The questions in the plain-text format.
    #[serde(default)]
    pub questions: String,
}

impl AssessmentForm {
    pub fn is_active(&self) -> bool {
        self.active.is_some()
    }
}

/// Settings that passed every check; the only way to make one is to parse input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidAssessment {
    name: AssessmentName,
    pass_mark: i32,
    time_limit_minutes: i32,
    expires_after_days: i32,
    active: bool,
    instructions: String,
    questions: Questions,
}

type Checked<T> = Result<T, FieldError>;

impl ValidAssessment {
    /// From the API: name, pass mark and time limit are required; expiry defaults to 7 days,
    /// active to true, instructions and questions to none.
    pub fn from_input(input: AssessmentInput) -> Result<Self, Vec<FieldError>> {
        let name = input.name.as_deref().unwrap_or_default();
        Self::assemble(
            AssessmentName::parse(name),
            PASS_MARK.required(input.pass_mark),
            TIME_LIMIT.required(input.time_limit_minutes),
            input.expires_after_days.map_or(Ok(DEFAULT_EXPIRES_AFTER_DAYS), |days| EXPIRY.check(days)),
            input.active.unwrap_or(true),
            parse_instructions(input.instructions.as_deref().unwrap_or_default()),
            Questions::parse(input.questions.unwrap_or_default()),
        )
    }

    /// From the admin form, questions in the plain-text format.
    pub fn from_form(form: &AssessmentForm) -> Result<Self, Vec<FieldError>> {
        Self::assemble(
            AssessmentName::parse(&form.name),
            PASS_MARK.parse_text(&form.pass_mark, None),
            TIME_LIMIT.parse_text(&form.time_limit_minutes, None),
            EXPIRY.parse_text(&form.expires_after_days, Some(DEFAULT_EXPIRES_AFTER_DAYS)),
            form.is_active(),
            parse_instructions(&form.instructions),
            Questions::from_text(&form.questions),
        )
    }

    /// Every field's problem at once, in the order of the form.
    fn assemble(
        name: Checked<AssessmentName>,
        pass_mark: Checked<i32>,
        time_limit_minutes: Checked<i32>,
        expires_after_days: Checked<i32>,
        active: bool,
        instructions: Checked<String>,
        questions: Result<Questions, Vec<FieldError>>,
    ) -> Result<Self, Vec<FieldError>> {
        match (name, pass_mark, time_limit_minutes, expires_after_days, instructions, questions) {
            (
                Ok(name),
                Ok(pass_mark),
                Ok(time_limit_minutes),
                Ok(expires_after_days),
                Ok(instructions),
                Ok(questions),
            ) => Ok(Self { name, pass_mark, time_limit_minutes, expires_after_days, active, instructions, questions }),
            (name, pass_mark, time_limit, expiry, instructions, questions) => {
                let fields = [name.err(), pass_mark.err(), time_limit.err(), expiry.err(), instructions.err()];
                Err(fields.into_iter().flatten().chain(questions.err().into_iter().flatten()).collect())
            }
        }
    }

    pub fn name(&self) -> &AssessmentName {
        &self.name
    }

    pub fn pass_mark(&self) -> i32 {
        self.pass_mark
    }

    pub fn time_limit_minutes(&self) -> i32 {
        self.time_limit_minutes
    }

    pub fn expires_after_days(&self) -> i32 {
        self.expires_after_days
    }

    pub fn active(&self) -> bool {
        self.active
    }

    pub fn instructions(&self) -> &str {
        &self.instructions
    }

    pub fn questions(&self) -> &Questions {
        &self.questions
    }
}

#[cfg(test)]
mod tests;
