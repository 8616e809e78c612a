//! The invitation lifecycle as one state machine: the states an invitation can be in, and
//! each transition as a pure function that says what the new state is and what must happen
//! because of it ([`Effect`]s). `invitations` is the only writer of the state; the caller
//! carries out the effects in the same transaction.
//!
//! ```text
//! invited ──start──▶ started ──complete──▶ completed
//!    │ ╲                │
//!    │  ╲──complete─────┼──────────────▶ completed   (an engine may report at once)
//!    ├──expire──────────┴──expire──────▶ expired
//!    └──cancel────────────────────────▶ cancelled   (the invite could not be sent)
//! ```

use chrono::{DateTime, Duration, Utc};

/// Built-in runner: answers may arrive this long after the time limit (the page submits
/// itself at the limit, counting from the server's clock; the network takes a moment).
pub const SUBMIT_GRACE: Duration = Duration::seconds(15);
/// External engines report results after grading; they get a day past the time limit.
pub const ENGINE_GRACE: Duration = Duration::hours(24);

crate::domain::text_enum! {
    /// Where an invitation is; stored as text in `invitations.status`.
    pub enum InvitationStatus {
        Invited = "invited",
        Started = "started",
        Completed = "completed",
        Expired = "expired",
        Cancelled = "cancelled",
    }
}

impl InvitationStatus {
    /// Still waiting for the candidate (the invitation can start or finish).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Invited | Self::Started)
    }
}

/// How pages, notes and emails name a candidate: by name, or by email address when Lever
/// had no name.
pub fn candidate_label<'a>(name: &'a str, email: &'a str) -> &'a str {
    if name.trim().is_empty() { email } else { name }
}

/// What a transition needs to know about the invitation.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub status: InvitationStatus,
    pub deadline: DateTime<Utc>,
    pub time_limit_minutes: i32,
    /// Graded by Fulcrum's own runner (it has questions), not by an external engine.
    pub built_in: bool,
    /// The result already recorded, when completed.
    pub recorded: Option<Outcome<'a>>,
}

/// A result: by the built-in runner or an external engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome<'a> {
    pub score: i32,
    pub passed: bool,
    pub failure_reason: Option<&'a str>,
    pub report_url: Option<&'a str>,
}

/// What must happen because of a transition, in the same transaction as the state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Email the candidate the link.
    SendInvite,
    /// Remind the candidate at this time, unless they started.
    RemindAt(DateTime<Utc>),
    /// Close the invitation at this time if it is still open.
    CloseAt(DateTime<Utc>),
    /// Bring the opportunity's status tags, notes and feedback in Lever up to date.
    SyncLever,
    /// Tell the organization's recruiters the result is in.
    NotifyRecruiters,
    /// Attach the report PDF to the opportunity in Lever.
    AttachReport,
}

/// A transition's answer: the new state (`None`: nothing changes) and what follows.
#[must_use = "a transition's effects must be carried out"]
#[derive(Debug, PartialEq, Eq)]
pub struct Transition {
    pub to: Option<InvitationStatus>,
    pub effects: Vec<Effect>,
}

impl Transition {
    fn to(status: InvitationStatus, effects: Vec<Effect>) -> Self {
        Self { to: Some(status), effects }
    }

    fn unchanged() -> Self {
        Self { to: None, effects: Vec::new() }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
pub enum TransitionError {
    #[error("this invitation has expired")]
    Expired,
    #[error("this invitation was cancelled")]
    Cancelled,
    #[error("this assessment was already submitted")]
    AlreadyCompleted,
    #[error("a different result was already recorded")]
    ConflictingResult,
    #[error("this assessment is graded by the vendor's engine, which reports the result")]
    GradedByEngine,
}

/// A new invitation: the email now, a reminder `remind_hours` before the deadline (when that
/// is more than an hour away), and closing at the deadline.
pub fn create(now: DateTime<Utc>, deadline: DateTime<Utc>, remind_hours: i64) -> Transition {
    let mut effects = vec![Effect::SendInvite];
    let reminder_at = deadline - Duration::hours(remind_hours);
    if reminder_at > now + Duration::hours(1) {
        effects.push(Effect::RemindAt(reminder_at));
    }
    effects.push(Effect::CloseAt(deadline));
    Transition::to(InvitationStatus::Invited, effects)
}

fn check_open(status: InvitationStatus) -> Result<(), TransitionError> {
    match status {
        InvitationStatus::Expired => Err(TransitionError::Expired),
        InvitationStatus::Cancelled => Err(TransitionError::Cancelled),
        InvitationStatus::Completed => Err(TransitionError::AlreadyCompleted),
        InvitationStatus::Invited | InvitationStatus::Started => Ok(()),
    }
}

/// The candidate (or an engine) starts: the clock of the time limit runs from `now`.
/// Starting again is a no-op; past the deadline it is refused.
pub fn start(facts: &Facts, now: DateTime<Utc>) -> Result<Transition, TransitionError> {
    check_open(facts.status)?;
    if facts.status == InvitationStatus::Started {
        return Ok(Transition::unchanged());
    }
    if now >= facts.deadline {
        return Err(TransitionError::Expired);
    }
    let grace = if facts.built_in { SUBMIT_GRACE } else { ENGINE_GRACE };
    let close_at = now + Duration::minutes(facts.time_limit_minutes.into()) + grace;
    Ok(Transition::to(InvitationStatus::Started, vec![Effect::CloseAt(close_at), Effect::SyncLever]))
}

/// The result is in. The same result again is a no-op; a different one is refused.
pub fn complete(facts: &Facts, outcome: &Outcome) -> Result<Transition, TransitionError> {
    if facts.status == InvitationStatus::Completed {
        return if facts.recorded.as_ref() == Some(outcome) {
            Ok(Transition::unchanged())
        } else {
            Err(TransitionError::ConflictingResult)
        };
    }
    check_open(facts.status)?;
    Ok(Transition::to(
        InvitationStatus::Completed,
        vec![Effect::NotifyRecruiters, Effect::SyncLever, Effect::AttachReport],
    ))
}

/// The candidate submits answers to the built-in runner, which grades them. An assessment
/// without questions is graded by an external engine: only its result (through the API)
/// finishes the invitation, so the candidate cannot finish it themselves.
pub fn submit(facts: &Facts, outcome: &Outcome) -> Result<Transition, TransitionError> {
    if !facts.built_in {
        return Err(TransitionError::GradedByEngine);
    }
    complete(facts, outcome)
}

/// Time is up (deadline, or time limit plus grace) for an open invitation.
pub fn expire(facts: &Facts) -> Result<Transition, TransitionError> {
    check_open(facts.status)?;
    Ok(Transition::to(InvitationStatus::Expired, vec![Effect::SyncLever]))
}

/// The invitation cannot go ahead (e.g. the mail server refused the address for good).
/// What Lever is told is up to the caller, who knows why.
pub fn cancel(facts: &Facts) -> Result<Transition, TransitionError> {
    check_open(facts.status)?;
    Ok(Transition::to(InvitationStatus::Cancelled, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: InvitationStatus, now: DateTime<Utc>) -> Facts<'static> {
        Facts { status, deadline: now + Duration::days(7), time_limit_minutes: 30, built_in: true, recorded: None }
    }

    const PASS: Outcome = Outcome { score: 80, passed: true, failure_reason: None, report_url: None };

    #[test]
    fn a_new_invitation_sends_reminds_and_closes() {
        let now = Utc::now();
        let t = create(now, now + Duration::days(7), 24);
        assert_eq!(t.to, Some(InvitationStatus::Invited));
        assert_eq!(
            t.effects,
            vec![
                Effect::SendInvite,
                Effect::RemindAt(now + Duration::days(6)),
                Effect::CloseAt(now + Duration::days(7))
            ]
        );
        let soon = create(now, now + Duration::hours(2), 24);
        assert!(!soon.effects.iter().any(|e| matches!(e, Effect::RemindAt(_))), "no reminder in the past");
    }

    #[test]
    fn starting_runs_the_clock_once_and_not_past_the_deadline() {
        let now = Utc::now();
        let t = start(&facts(InvitationStatus::Invited, now), now).unwrap();
        assert_eq!(t.to, Some(InvitationStatus::Started));
        assert_eq!(t.effects, vec![Effect::CloseAt(now + Duration::minutes(30) + SUBMIT_GRACE), Effect::SyncLever]);
        assert_eq!(start(&facts(InvitationStatus::Started, now), now), Ok(Transition::unchanged()));
        let late = facts(InvitationStatus::Invited, now - Duration::days(8));
        assert_eq!(start(&late, now), Err(TransitionError::Expired));
        let engine = Facts { built_in: false, ..facts(InvitationStatus::Invited, now) };
        assert!(
            start(&engine, now).unwrap().effects.contains(&Effect::CloseAt(now + Duration::minutes(30) + ENGINE_GRACE))
        );
    }

    #[test]
    fn finished_invitations_refuse_every_transition() {
        let now = Utc::now();
        for (status, error) in [
            (InvitationStatus::Expired, TransitionError::Expired),
            (InvitationStatus::Cancelled, TransitionError::Cancelled),
        ] {
            let f = facts(status, now);
            assert_eq!(start(&f, now), Err(error));
            assert_eq!(complete(&f, &PASS), Err(error));
            assert_eq!(expire(&f), Err(error));
            assert_eq!(cancel(&f), Err(error));
        }
    }

    #[test]
    fn a_result_is_recorded_once_and_the_same_result_again_is_a_no_op() {
        let now = Utc::now();
        let t = complete(&facts(InvitationStatus::Started, now), &PASS).unwrap();
        assert_eq!(t.to, Some(InvitationStatus::Completed));
        assert_eq!(t.effects, vec![Effect::NotifyRecruiters, Effect::SyncLever, Effect::AttachReport]);
        let done = Facts { recorded: Some(PASS), ..facts(InvitationStatus::Completed, now) };
        assert_eq!(complete(&done, &PASS), Ok(Transition::unchanged()));
        let other = Outcome { score: 10, passed: false, ..PASS };
        assert_eq!(complete(&done, &other), Err(TransitionError::ConflictingResult));
        assert_eq!(expire(&done), Err(TransitionError::AlreadyCompleted));
    }

    #[test]
    fn candidates_submit_only_what_the_built_in_runner_grades() {
        let now = Utc::now();
        let built_in = facts(InvitationStatus::Started, now);
        assert_eq!(submit(&built_in, &PASS).unwrap().to, Some(InvitationStatus::Completed));
        let engine = Facts { built_in: false, ..built_in };
        assert_eq!(submit(&engine, &PASS), Err(TransitionError::GradedByEngine));
        assert_eq!(complete(&engine, &PASS).unwrap().to, Some(InvitationStatus::Completed), "the engine's result");
    }

    #[test]
    fn statuses_read_and_write_as_stored() {
        for status in InvitationStatus::ALL {
            assert_eq!(status.as_str().parse::<InvitationStatus>(), Ok(*status));
        }
        assert!("paused".parse::<InvitationStatus>().is_err());
        assert!(InvitationStatus::Started.is_open() && !InvitationStatus::Cancelled.is_open());
    }
}
