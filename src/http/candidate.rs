//! The candidate's side: `/a/{token}` shows the assessment and a Start button, then the
//! questions with the time left, then takes the answers. The time limit is the server's:
//! answers arriving after it (and a short grace for the page's own auto-submit) are not
//! scored. The right answers never leave the server.

use std::collections::HashMap;

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{DateTime, Utc};

use super::{
    csrf::{CsrfForm, CsrfToken, NoFields},
    error::{AppError, AppResult},
    layout::render,
};
use crate::{
    domain::scoring::{self, Question},
    http::AppState,
    invitations::{self, Invitation, InvitationStatus, Outcome, SUBMIT_GRACE, TransitionError},
    jobs::kinds::follow_up,
};

/// A question as the candidate sees it: no answer.
pub struct Shown {
    pub number: usize,
    pub prompt: String,
    pub choices: Vec<String>,
}

#[derive(Template)]
#[template(path = "candidate.html")]
struct CandidatePage {
    brand: String,
    company: String,
    csrf: String,
    token: String,
    view: View,
    assessment: String,
    instructions: String,
    time_limit_minutes: i32,
    deadline: DateTime<Utc>,
    questions: Vec<Shown>,
    ends_at: Option<DateTime<Utc>>,
    /// The time left by the server's clock: the page counts down from it, so a candidate's
    /// wrong clock neither cuts the time short nor submits after the grace.
    seconds_left: Option<i64>,
}

#[derive(PartialEq, Eq)]
enum View {
    Landing,
    Questions,
    External,
    Done,
    Expired,
    /// Cancelled (by an admin, or the candidate was hired or archived): no longer needed.
    Cancelled,
    Unknown,
}

struct Loaded {
    invitation: Invitation,
    company: String,
    instructions: String,
    questions: Vec<Question>,
}

async fn load(state: &AppState, token: &str) -> AppResult<Option<Loaded>> {
    let mut conn = state.db.acquire().await?;
    let Some(invitation) = invitations::by_token(&mut conn, token).await? else {
        return Ok(None);
    };
    let extra = sqlx::query!(
        "SELECT o.name AS company, a.instructions, a.questions FROM assessments a
         JOIN organizations o ON o.id = a.org_id WHERE a.id = $1",
        invitation.assessment_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let questions = serde_json::from_value(extra.questions).unwrap_or_default();
    Ok(Some(Loaded { invitation, company: extra.company, instructions: extra.instructions, questions }))
}

fn page(state: &AppState, csrf: &CsrfToken, token: &str, loaded: Option<&Loaded>, view: View) -> CandidatePage {
    let inv = loaded.map(|l| &l.invitation);
    CandidatePage {
        brand: state.settings.brand.clone(),
        company: loaded.map(|l| l.company.clone()).unwrap_or_default(),
        csrf: csrf.0.clone(),
        token: token.to_string(),
        assessment: inv.map(|i| i.assessment_name.clone()).unwrap_or_default(),
        instructions: loaded.map(|l| l.instructions.clone()).unwrap_or_default(),
        time_limit_minutes: inv.map_or(0, |i| i.time_limit_minutes),
        deadline: inv.map_or_else(Utc::now, |i| i.deadline),
        questions: match view {
            View::Questions => loaded.map(shown).unwrap_or_default(),
            _ => Vec::new(),
        },
        ends_at: inv.and_then(Invitation::ends_at),
        seconds_left: inv.and_then(Invitation::ends_at).map(|end| (end - state.clock.now()).num_seconds().max(0)),
        view,
    }
}

fn shown(loaded: &Loaded) -> Vec<Shown> {
    loaded
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| Shown { number: i + 1, prompt: q.prompt.clone(), choices: q.choices.clone() })
        .collect()
}

/// Which page the invitation's state calls for.
fn view_for(state: &AppState, loaded: &Loaded) -> View {
    let inv = &loaded.invitation;
    let now = state.clock.now();
    match inv.status {
        InvitationStatus::Completed => View::Done,
        InvitationStatus::Expired => View::Expired,
        InvitationStatus::Cancelled => View::Cancelled,
        InvitationStatus::Invited if now >= inv.deadline => View::Expired,
        InvitationStatus::Invited => View::Landing,
        _ if inv.close_at().is_some_and(|c| now >= c) => View::Expired,
        _ if loaded.questions.is_empty() => View::External,
        _ => View::Questions,
    }
}

fn respond(page: CandidatePage) -> AppResult<Response> {
    let status = match page.view {
        View::Unknown => StatusCode::NOT_FOUND,
        View::Expired | View::Cancelled => StatusCode::GONE,
        _ => StatusCode::OK,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn show(State(state): State<AppState>, csrf: CsrfToken, Path(token): Path<String>) -> AppResult<Response> {
    let loaded = load(&state, &token).await?;
    let view = loaded.as_ref().map_or(View::Unknown, |l| view_for(&state, l));
    respond(page(&state, &csrf, &token, loaded.as_ref(), view))
}

/// `/a/` with the token cut off (a link broken across lines in a mail client).
pub async fn no_token(State(state): State<AppState>, csrf: CsrfToken) -> AppResult<Response> {
    respond(page(&state, &csrf, "", None, View::Unknown))
}

pub async fn start(
    State(state): State<AppState>,
    csrf: CsrfToken,
    Path(token): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let Some(loaded) = load(&state, &token).await? else {
        return respond(page(&state, &csrf, &token, None, View::Unknown));
    };
    let mut tx = state.db.begin().await?;
    let inv = invitations::lock(&mut tx, loaded.invitation.id).await?.ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    match invitations::start(&mut tx, &inv, now).await {
        Ok(effects) => {
            follow_up(&mut tx, (&inv).into(), &effects, now).await?;
            tx.commit().await?;
            Ok(Redirect::to(&format!("/a/{token}")).into_response())
        }
        Err(invitations::Error::Refused(TransitionError::AlreadyCompleted)) => {
            respond(page(&state, &csrf, &token, Some(&loaded), View::Done))
        }
        Err(invitations::Error::Refused(TransitionError::Cancelled)) => {
            respond(page(&state, &csrf, &token, Some(&loaded), View::Cancelled))
        }
        Err(invitations::Error::Refused(_)) => respond(page(&state, &csrf, &token, Some(&loaded), View::Expired)),
        Err(invitations::Error::Database(e)) => Err(e.into()),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    Path(token): Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    // Read as pairs: a repeated or odd field (a hand-made request) counts once, its first
    // value, rather than refusing the candidate's whole submission.
    let mut answers: HashMap<String, String> = HashMap::new();
    for (name, value) in pairs {
        answers.entry(name).or_insert(value);
    }
    let Some(loaded) = load(&state, &token).await? else {
        return respond(page(&state, &csrf, &token, None, View::Unknown));
    };
    let mut tx = state.db.begin().await?;
    let inv = invitations::lock(&mut tx, loaded.invitation.id).await?.ok_or(AppError::NotFound)?;
    match inv.status {
        InvitationStatus::Completed => return respond(page(&state, &csrf, &token, Some(&loaded), View::Done)),
        InvitationStatus::Started => {}
        // Answers before a start (an old tab, a replayed form): the landing page says what to do.
        InvitationStatus::Invited => return Ok(Redirect::to(&format!("/a/{token}")).into_response()),
        InvitationStatus::Expired => return respond(page(&state, &csrf, &token, Some(&loaded), View::Expired)),
        InvitationStatus::Cancelled => return respond(page(&state, &csrf, &token, Some(&loaded), View::Cancelled)),
    }
    if !inv.built_in {
        // The vendor's engine grades this one and reports the result through the API; a
        // form posted here (by hand: the page has none) changes nothing.
        let page = page(&state, &csrf, &token, Some(&loaded), View::External);
        return Ok((StatusCode::CONFLICT, render(&page)?).into_response());
    }
    let now = state.clock.now();
    if inv.ends_at().is_some_and(|end| now > end + SUBMIT_GRACE) {
        let reason = "The answers arrived after the time limit.";
        let effects = invitations::expire(&mut tx, &inv, reason, now).await?;
        follow_up(&mut tx, (&inv).into(), &effects, now).await?;
        tx.commit().await?;
        return respond(page(&state, &csrf, &token, Some(&loaded), View::Expired));
    }
    let chosen = scoring::read_answers(&answers, loaded.questions.len());
    let result = scoring::score(&loaded.questions, &chosen, inv.pass_mark);
    let recorded = serde_json::to_value(&chosen).expect("answers serialize");
    let outcome = Outcome {
        score: result.score,
        passed: result.passed,
        failure_reason: result.failure_reason.as_deref(),
        report_url: None,
    };
    match invitations::submit(&mut tx, &inv, &outcome, &recorded, now).await {
        Ok(effects) => follow_up(&mut tx, (&inv).into(), &effects, now).await?,
        Err(invitations::Error::Refused(TransitionError::AlreadyCompleted | TransitionError::ConflictingResult)) => {}
        Err(invitations::Error::Refused(TransitionError::GradedByEngine)) => {
            let page = page(&state, &csrf, &token, Some(&loaded), View::External);
            return Ok((StatusCode::CONFLICT, render(&page)?).into_response());
        }
        Err(invitations::Error::Refused(_)) => {
            return respond(page(&state, &csrf, &token, Some(&loaded), View::Expired));
        }
        Err(invitations::Error::Database(e)) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/a/{token}")).into_response())
}
