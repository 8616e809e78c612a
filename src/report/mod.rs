//! An invitation's report, as people read it: on the report page, as a PDF download, and
//! as the PDF attached to the opportunity in Lever. `load` gathers what it says from the
//! database; `pdf` lays it out.

pub mod logo;
pub mod pdf;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::{lifecycle::Status, scoring::Question},
    invitations::{self, Invitation, InvitationStatus},
};

/// One answer: the question, what the candidate chose, the right answer.
#[derive(Clone, Debug)]
pub struct AnswerLine {
    pub number: usize,
    pub prompt: String,
    pub chosen: String,
    pub right_answer: String,
    pub correct: bool,
}

/// Everything a report says.
#[derive(Clone, Debug)]
pub struct Report {
    pub brand: String,
    pub organization: String,
    /// The organization's accent colour (from its email branding), when set and valid.
    pub accent: Option<(u8, u8, u8)>,
    /// The organization's logo URL (from its email branding), and the logo once fetched.
    pub logo_url: Option<String>,
    pub logo: Option<Vec<u8>>,
    pub invitation: Invitation,
    /// Passed, Failed, Expired, In progress, Not started.
    pub result: &'static str,
    pub answers: Vec<AnswerLine>,
}

impl Report {
    /// Fetches the organization's logo for the PDF, from where `reach` allows.
    pub async fn fetch_logo(&mut self, reach: logo::Reach) {
        if let Some(url) = &self.logo_url {
            self.logo = logo::fetch(url, reach).await;
        }
    }

    /// Minutes from start to submission, for finished assessments.
    pub fn duration_minutes(&self) -> Option<i64> {
        let inv = &self.invitation;
        match (inv.started_at, inv.completed_at) {
            (Some(start), Some(end)) if inv.status == InvitationStatus::Completed => Some((end - start).num_minutes()),
            _ => None,
        }
    }

    /// "12 minutes of 30", or "under a minute of 30".
    pub fn time_taken(&self) -> Option<String> {
        let limit = self.invitation.time_limit_minutes;
        self.duration_minutes().map(|m| match m {
            m if m < 1 => format!("under a minute of {limit} allowed"),
            1 => format!("1 minute of {limit} allowed"),
            m => format!("{m} minutes of {limit} allowed"),
        })
    }
}

/// The file name the report has in Lever (and as a download): deterministic, so Fulcrum
/// recognises its own file when it reads the opportunity's files back.
pub fn file_name(brand: &str, assessment: &str) -> String {
    let assessment: String =
        assessment.chars().map(|c| if c.is_control() || matches!(c, '/' | '\\') { ' ' } else { c }).collect();
    format!("{brand} report - {}.pdf", assessment.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The report of invitation `id` of `org_id`, or `None` when there is no such invitation.
pub async fn load(conn: &mut PgConnection, brand: &str, org_id: Uuid, id: Uuid) -> sqlx::Result<Option<Report>> {
    let Some(invitation) = invitations::get(conn, org_id, id).await? else { return Ok(None) };
    let extra = sqlx::query!(
        "SELECT a.questions, o.name AS organization, t.accent_color AS \"accent_color?\",
                t.logo_url AS \"logo_url?\"
         FROM invitations i
         JOIN assessments a ON a.id = i.assessment_id
         JOIN organizations o ON o.id = i.org_id
         LEFT JOIN email_templates t ON t.org_id = i.org_id
         WHERE i.id = $1",
        id
    )
    .fetch_one(&mut *conn)
    .await?;
    let questions: Vec<Question> = serde_json::from_value(extra.questions).unwrap_or_default();
    let chosen: Vec<Option<usize>> =
        invitation.answers.clone().and_then(|a| serde_json::from_value(a).ok()).unwrap_or_default();
    let result = Status::label(Status::of(invitation.status, invitation.passed));
    Ok(Some(Report {
        brand: brand.to_string(),
        organization: extra.organization,
        accent: extra.accent_color.as_deref().and_then(parse_colour),
        logo_url: extra.logo_url.filter(|u| !u.trim().is_empty()),
        logo: None,
        answers: answer_lines(&questions, &chosen),
        result,
        invitation,
    }))
}

/// The answer lines of a built-in assessment; none before the candidate submitted.
pub fn answer_lines(questions: &[Question], chosen: &[Option<usize>]) -> Vec<AnswerLine> {
    if chosen.is_empty() {
        return Vec::new();
    }
    questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let pick = chosen.get(i).copied().flatten();
            AnswerLine {
                number: i + 1,
                prompt: q.prompt.clone(),
                chosen: pick.and_then(|c| q.choices.get(c).cloned()).unwrap_or_else(|| "(no answer)".into()),
                right_answer: q.choices.get(q.answer).cloned().unwrap_or_default(),
                correct: pick == Some(q.answer),
            }
        })
        .collect()
}

/// `#rrggbb` or `#rgb`.
fn parse_colour(text: &str) -> Option<(u8, u8, u8)> {
    let hex = text.trim().strip_prefix('#')?;
    let full = match hex.len() {
        3 => hex.chars().flat_map(|c| [c, c]).collect(),
        6 => hex.to_string(),
        _ => return None,
    };
    let byte = |i: usize| u8::from_str_radix(full.get(i..i + 2)?, 16).ok();
    Some((byte(0)?, byte(2)?, byte(4)?))
}

/// When `at` is, for people reading the report.
pub fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "—".to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_and_file_names() {
        assert_eq!(parse_colour("#1a2B3c"), Some((0x1a, 0x2b, 0x3c)));
        assert_eq!(parse_colour("#fff"), Some((255, 255, 255)));
        assert_eq!(parse_colour("red"), None);
        assert_eq!(parse_colour("#12345g"), None);
        assert_eq!(file_name("Fulcrum", "Backend  Engineer"), "Fulcrum report - Backend Engineer.pdf");
        assert_eq!(file_name("Fulcrum", "a/b\nc"), "Fulcrum report - a b c.pdf");
    }
}
