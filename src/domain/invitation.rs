//! The invitation lifecycle as one state machine: the states an invitation can be in, and
//! each transition as a pure function that says what the new state is and what must happen
//! because of it ([`Effect`]s). `invitations` is the only writer of the state; the caller
//! carries out the effects in the same transaction.
//!
//! ```text
//! invited ──start──▶ started ──complete──▶ completed
//!  │ ▲ ╲                │
//!  │ │  ╲──complete─────┼──────────────▶ completed   (an engine may report at once)
//!  │ │                  │
//!  ├─┼──expire──────────┴──expire──────▶ expired
//!  │ └──────────resend (reopens)──────────┘
//!  └──cancel────────────┴──cancel──────▶ cancelled   (see [`CancelReason`])
//! ```
//!
//! An admin may also send the invite again while it is waiting (`resend`) and move its
//! deadline (`extend`); neither changes the state.

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
    match (name.trim().is_empty(), email.trim().is_empty()) {
        (false, _) => name,
        (true, false) => email,
        // Both erased: the candidate was deleted or anonymized in Lever.
        (true, true) => "A candidate removed in Lever",
    }
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
    /// The reminder went out (for this round of the invitation).
    pub reminded: bool,
    /// How many times the invite was sent again, and the deadline extended, so far.
    pub resends: i32,
    pub extensions: i32,
}

crate::domain::text_enum! {
    /// The kind of [`CancelReason`]; stored as text in `invitations.cancel_reason`.
    pub enum CancelKind {
        EmailRefused = "email_refused",
        Admin = "admin",
        Hired = "hired",
        Archived = "archived",
        Removed = "removed",
    }
}

/// Why an invitation is cancelled. Stored as its [`CancelKind`] and [`Self::detail`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// The mail server refused the invite for good (its answer). The email job explains it
    /// in Lever with an error note of its own.
    EmailRefused { error: String },
    /// Cancelled in Fulcrum: by an admin (their name or address) or an API key (its name).
    Admin { by: String },
    /// The candidate was hired in Lever before finishing.
    Hired,
    /// The candidate was archived (rejected) in Lever before finishing; Lever's archive
    /// reason when known.
    Archived { reason: Option<String> },
    /// The candidate was deleted or anonymized in Lever: nothing more is written there.
    Removed,
}

impl CancelReason {
    pub fn kind(&self) -> CancelKind {
        match self {
            Self::EmailRefused { .. } => CancelKind::EmailRefused,
            Self::Admin { .. } => CancelKind::Admin,
            Self::Hired => CancelKind::Hired,
            Self::Archived { .. } => CancelKind::Archived,
            Self::Removed => CancelKind::Removed,
        }
    }

    /// What is stored beside the kind: the refusal, who cancelled, the archive reason.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::EmailRefused { error } => Some(error),
            Self::Admin { by } => Some(by),
            Self::Archived { reason } => reason.as_deref(),
            Self::Hired | Self::Removed => None,
        }
    }

    /// The reason as stored (see [`Self::kind`] and [`Self::detail`]).
    pub fn stored(kind: CancelKind, detail: Option<String>) -> Self {
        let detail_or = |default: &str| detail.clone().unwrap_or_else(|| default.to_string());
        match kind {
            CancelKind::EmailRefused => Self::EmailRefused { error: detail_or("the mail server refused it") },
            CancelKind::Admin => Self::Admin { by: detail_or("an admin") },
            CancelKind::Hired => Self::Hired,
            CancelKind::Archived => Self::Archived { reason: detail },
            CancelKind::Removed => Self::Removed,
        }
    }

    /// Whether Lever shows this cancel (the Cancelled tag and a note). A refused email is
    /// shown as an error instead; a candidate deleted in Lever gets nothing more.
    pub fn shows_in_lever(&self) -> bool {
        matches!(self, Self::Admin { .. } | Self::Hired | Self::Archived { .. })
    }
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
    /// Email the candidate the same link again (the `nth` time; `reopened`: the invitation
    /// had expired); Lever gets a note once it went out.
    SendInviteAgain { nth: i32, reopened: bool },
    /// Note in Lever that the deadline moved (the `nth` extension).
    NoteExtended { nth: i32, from: DateTime<Utc>, to: DateTime<Utc> },
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

/// A transition's answer: the new state (`None`: the state stays), the new deadline
/// (`None`: it stays) and what follows.
#[must_use = "a transition's effects must be carried out"]
#[derive(Debug, PartialEq, Eq)]
pub struct Transition {
    pub to: Option<InvitationStatus>,
    pub deadline: Option<DateTime<Utc>>,
    pub effects: Vec<Effect>,
}

impl Transition {
    fn to(status: InvitationStatus, effects: Vec<Effect>) -> Self {
        Self { to: Some(status), deadline: None, effects }
    }

    fn unchanged() -> Self {
        Self { to: None, deadline: None, effects: Vec::new() }
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
    #[error("the candidate has already started this assessment; its time limit decides now")]
    AlreadyStarted,
    #[error("a newer invitation of this candidate to this assessment is open")]
    Superseded,
    #[error("the candidate was deleted or anonymized in Lever")]
    RemovedInLever,
}

/// A new invitation: the email now, a reminder `remind_hours` before the deadline (when that
/// is more than an hour away), and closing at the deadline.
pub fn create(now: DateTime<Utc>, deadline: DateTime<Utc>, remind_hours: i64) -> Transition {
    let mut effects = vec![Effect::SendInvite];
    effects.extend(schedule(now, deadline, remind_hours));
    Transition::to(InvitationStatus::Invited, effects)
}

/// The reminder (when it would come more than an hour from now) and the close at `deadline`.
fn schedule(now: DateTime<Utc>, deadline: DateTime<Utc>, remind_hours: i64) -> Vec<Effect> {
    let reminder_at = deadline - Duration::hours(remind_hours);
    let mut effects = Vec::new();
    if reminder_at > now + Duration::hours(1) {
        effects.push(Effect::RemindAt(reminder_at));
    }
    effects.push(Effect::CloseAt(deadline));
    effects
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

/// The invitation is no longer needed, or cannot go ahead. Lever shows it (the Cancelled
/// tag and a note, written by the sync) when the reason calls for it.
pub fn cancel(facts: &Facts, reason: &CancelReason) -> Result<Transition, TransitionError> {
    check_open(facts.status)?;
    let effects = if reason.shows_in_lever() { vec![Effect::SyncLever] } else { Vec::new() };
    Ok(Transition::to(InvitationStatus::Cancelled, effects))
}

/// An admin sends the invite again, with the same link. A waiting invitation keeps its
/// deadline; an expired one (or one whose deadline passed before it was closed) reopens
/// until `reopen_until`, with a reminder and a close like a new one, and Lever shows it
/// invited again. Once started, completed or cancelled there is nothing to send.
pub fn resend(
    facts: &Facts,
    now: DateTime<Utc>,
    reopen_until: DateTime<Utc>,
    remind_hours: i64,
) -> Result<Transition, TransitionError> {
    let nth = facts.resends + 1;
    match facts.status {
        InvitationStatus::Invited if now < facts.deadline => {
            Ok(Transition { to: None, deadline: None, effects: vec![Effect::SendInviteAgain { nth, reopened: false }] })
        }
        InvitationStatus::Invited | InvitationStatus::Expired => {
            let mut effects = vec![Effect::SendInviteAgain { nth, reopened: true }];
            effects.extend(schedule(now, reopen_until, remind_hours));
            effects.push(Effect::SyncLever);
            Ok(Transition { to: Some(InvitationStatus::Invited), deadline: Some(reopen_until), effects })
        }
        InvitationStatus::Started => Err(TransitionError::AlreadyStarted),
        InvitationStatus::Completed => Err(TransitionError::AlreadyCompleted),
        InvitationStatus::Cancelled => Err(TransitionError::Cancelled),
    }
}

/// An admin gives a waiting candidate `by` more time to start. The close job finds the
/// later deadline when it comes at the old one and waits for the new one; a reminder not
/// sent yet moves with it. Refused once the deadline has passed (resending reopens), once
/// started (the time limit decides) and once finished.
pub fn extend(
    facts: &Facts,
    by: Duration,
    now: DateTime<Utc>,
    remind_hours: i64,
) -> Result<Transition, TransitionError> {
    check_open(facts.status)?;
    if facts.status == InvitationStatus::Started {
        return Err(TransitionError::AlreadyStarted);
    }
    if now >= facts.deadline {
        return Err(TransitionError::Expired);
    }
    let to = facts.deadline + by;
    let mut effects: Vec<Effect> = schedule(now, to, remind_hours)
        .into_iter()
        .filter(|e| !facts.reminded || matches!(e, Effect::CloseAt(_)))
        .collect();
    effects.push(Effect::NoteExtended { nth: facts.extensions + 1, from: facts.deadline, to });
    Ok(Transition { to: None, deadline: Some(to), effects })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: InvitationStatus, now: DateTime<Utc>) -> Facts<'static> {
        Facts {
            status,
            deadline: now + Duration::days(7),
            time_limit_minutes: 30,
            built_in: true,
            recorded: None,
            reminded: false,
            resends: 0,
            extensions: 0,
        }
    }

    fn by_admin() -> CancelReason {
        CancelReason::Admin { by: "Ada Admin".into() }
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
            assert_eq!(cancel(&f, &by_admin()), Err(error));
            assert_eq!(extend(&f, Duration::days(1), now, 24), Err(error));
        }
    }

    #[test]
    fn cancelling_shows_in_lever_only_for_reasons_lever_should_see() {
        let now = Utc::now();
        for status in [InvitationStatus::Invited, InvitationStatus::Started] {
            let f = facts(status, now);
            for reason in [by_admin(), CancelReason::Hired, CancelReason::Archived { reason: None }] {
                let t = cancel(&f, &reason).unwrap();
                assert_eq!(t.to, Some(InvitationStatus::Cancelled));
                assert_eq!(t.effects, vec![Effect::SyncLever], "{reason:?}");
            }
            for quiet in [CancelReason::Removed, CancelReason::EmailRefused { error: "550".into() }] {
                let t = cancel(&f, &quiet).unwrap();
                assert_eq!(t.to, Some(InvitationStatus::Cancelled));
                assert!(t.effects.is_empty(), "{quiet:?} writes nothing to Lever");
            }
        }
        let done = facts(InvitationStatus::Completed, now);
        assert_eq!(cancel(&done, &CancelReason::Hired), Err(TransitionError::AlreadyCompleted));
    }

    #[test]
    fn cancel_reasons_are_stored_and_read_back() {
        for reason in [
            by_admin(),
            CancelReason::Hired,
            CancelReason::Archived { reason: Some("Underqualified".into()) },
            CancelReason::Archived { reason: None },
            CancelReason::Removed,
            CancelReason::EmailRefused { error: "550 no such user".into() },
        ] {
            let stored = CancelReason::stored(reason.kind(), reason.detail().map(str::to_string));
            assert_eq!(stored, reason);
            assert_eq!(reason.kind().as_str().parse::<CancelKind>(), Ok(reason.kind()));
        }
    }

    #[test]
    fn resending_a_waiting_invitation_keeps_its_deadline() {
        let now = Utc::now();
        let f = Facts { resends: 2, ..facts(InvitationStatus::Invited, now) };
        let t = resend(&f, now, now + Duration::days(7), 24).unwrap();
        let again = Effect::SendInviteAgain { nth: 3, reopened: false };
        assert_eq!(t, Transition { to: None, deadline: None, effects: vec![again] });
    }

    #[test]
    fn resending_an_expired_invitation_reopens_it_with_a_new_schedule() {
        let now = Utc::now();
        let until = now + Duration::days(5);
        let expired = Facts { deadline: now - Duration::days(1), ..facts(InvitationStatus::Expired, now) };
        let t = resend(&expired, now, until, 24).unwrap();
        assert_eq!(t.to, Some(InvitationStatus::Invited));
        assert_eq!(t.deadline, Some(until));
        assert_eq!(
            t.effects,
            vec![
                Effect::SendInviteAgain { nth: 1, reopened: true },
                Effect::RemindAt(until - Duration::hours(24)),
                Effect::CloseAt(until),
                Effect::SyncLever
            ]
        );
        // Past the deadline but not closed yet: the same.
        let overdue = Facts { deadline: now - Duration::minutes(1), ..facts(InvitationStatus::Invited, now) };
        assert_eq!(resend(&overdue, now, until, 24).unwrap().deadline, Some(until));
    }

    #[test]
    fn only_waiting_or_expired_invitations_are_sent_again() {
        let now = Utc::now();
        let until = now + Duration::days(7);
        for (status, error) in [
            (InvitationStatus::Started, TransitionError::AlreadyStarted),
            (InvitationStatus::Completed, TransitionError::AlreadyCompleted),
            (InvitationStatus::Cancelled, TransitionError::Cancelled),
        ] {
            assert_eq!(resend(&facts(status, now), now, until, 24), Err(error));
        }
    }

    #[test]
    fn extending_moves_the_deadline_close_and_an_unsent_reminder() {
        let now = Utc::now();
        let f = Facts { extensions: 1, ..facts(InvitationStatus::Invited, now) };
        let from = f.deadline;
        let to = from + Duration::days(3);
        let t = extend(&f, Duration::days(3), now, 24).unwrap();
        assert_eq!(t.to, None);
        assert_eq!(t.deadline, Some(to));
        assert_eq!(
            t.effects,
            vec![
                Effect::RemindAt(to - Duration::hours(24)),
                Effect::CloseAt(to),
                Effect::NoteExtended { nth: 2, from, to }
            ]
        );
        let reminded = Facts { reminded: true, ..f };
        let t = extend(&reminded, Duration::days(3), now, 24).unwrap();
        assert!(!t.effects.iter().any(|e| matches!(e, Effect::RemindAt(_))), "one reminder per round");
    }

    #[test]
    fn extending_is_refused_once_started_or_past_the_deadline() {
        let now = Utc::now();
        let started = facts(InvitationStatus::Started, now);
        assert_eq!(extend(&started, Duration::days(1), now, 24), Err(TransitionError::AlreadyStarted));
        let overdue = Facts { deadline: now - Duration::minutes(1), ..facts(InvitationStatus::Invited, now) };
        assert_eq!(extend(&overdue, Duration::days(1), now, 24), Err(TransitionError::Expired));
        let completed = facts(InvitationStatus::Completed, now);
        assert_eq!(extend(&completed, Duration::days(1), now, 24), Err(TransitionError::AlreadyCompleted));
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
