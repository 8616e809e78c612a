//! Whether a candidate who entered a trigger stage is invited, and to what: the decision a
//! Lever event leads to, from facts already read (the opportunity, its posting's tags, the
//! organization's assessments, the invitations that already stand). No I/O.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    email::EmailAddress,
    problem::{Earlier, Problem},
    resolution::{self, Candidate},
};

/// The newest invitation of the opportunity to one assessment that is open or completed.
#[derive(Clone, Debug)]
pub struct Standing {
    pub assessment_id: Uuid,
    /// When the candidate entered the stage that caused it (Lever's milliseconds).
    pub stage_entered_at: Option<i64>,
    pub earlier: Earlier,
}

/// Whether the candidate may be emailed, by the opportunity's data protection in Lever.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Contact {
    /// Allowed, or Lever says nothing about it.
    #[default]
    Allowed,
    /// Lever says contact is not allowed.
    NotAllowed,
    /// The candidate's consent to be contacted ran out at this time.
    Expired(DateTime<Utc>),
}

impl Contact {
    /// Reads Lever's `dataProtection.contact` (`allowed`, `expiresAt`), which can run out
    /// by time alone: consent past its expiry no longer allows an email.
    pub fn from_lever(allowed: Option<bool>, expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        match (allowed, expires_at) {
            (Some(false), _) => Self::NotAllowed,
            (_, Some(at)) if at <= now => Self::Expired(at),
            _ => Self::Allowed,
        }
    }
}

pub struct Facts<'a> {
    pub brand: &'a str,
    pub archived: bool,
    pub contact: Contact,
    /// The posting's tags, then the opportunity's.
    pub tags: Vec<&'a str>,
    pub catalogue: &'a [Candidate<'a>],
    /// The opportunity's email addresses, as Lever has them.
    pub emails: &'a [String],
    /// When the candidate entered the trigger stage this event is about.
    pub entered: Option<i64>,
    pub standing: &'a [Standing],
}

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Invite `email` to each of `to`; `standing` are earlier invitations that stood in the
    /// way of other assessments the tags named.
    Invite { to: Vec<Uuid>, email: EmailAddress, standing: Vec<Earlier> },
    /// Not invited: explain why on the candidate.
    Explain(Problem),
    /// This very stage entry was handled before (a repeated or second event for one move).
    AlreadyHandled,
}

pub fn decide(facts: &Facts) -> Decision {
    if facts.archived {
        return Decision::Explain(Problem::Archived);
    }
    let resolved = resolution::resolve(facts.brand, facts.tags.iter().copied(), facts.catalogue);
    if resolved.invite.is_empty() {
        return Decision::Explain(Problem::from_resolution(facts.brand, &resolved));
    }
    let Some(email) = facts.emails.iter().find_map(|e| EmailAddress::parse(e).ok()) else {
        return Decision::Explain(Problem::NoEmail);
    };
    let (mut to, mut standing) = (Vec::new(), Vec::new());
    for id in resolved.invite {
        match facts.standing.iter().find(|s| s.assessment_id == id) {
            // The same move reported twice (e.g. Application Created and Stage Change).
            Some(s) if s.stage_entered_at.is_some() && s.stage_entered_at == facts.entered => {}
            // Open, or completed: a candidate takes an assessment once (only an expired or
            // cancelled one may be sent again).
            Some(s) => standing.push(s.earlier.clone()),
            None => to.push(id),
        }
    }
    match (to.is_empty(), standing.is_empty()) {
        // Known only now: a move already handled is not reported again.
        (false, _) if facts.contact != Contact::Allowed => Decision::Explain(Problem::ContactNotAllowed {
            expired: match facts.contact {
                Contact::Expired(at) => Some(at),
                _ => None,
            },
        }),
        (false, _) => Decision::Invite { to, email, standing },
        (true, true) => Decision::AlreadyHandled,
        (true, false) => Decision::Explain(Problem::AlreadyInvited(standing)),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn catalogue(id: Uuid) -> Vec<Candidate<'static>> {
        vec![Candidate { id, name: "Backend", code: "FC-11111", active: true }]
    }

    fn facts<'a>(catalogue: &'a [Candidate<'a>], emails: &'a [String], standing: &'a [Standing]) -> Facts<'a> {
        Facts {
            brand: "Fulcrum",
            archived: false,
            contact: Contact::Allowed,
            tags: vec!["Fulcrum Backend"],
            catalogue,
            emails,
            entered: Some(5),
            standing,
        }
    }

    fn standing(id: Uuid, entered: i64, completed: bool) -> Standing {
        let now = Utc::now();
        Standing {
            assessment_id: id,
            stage_entered_at: Some(entered),
            earlier: Earlier {
                assessment: "Backend".into(),
                sent: now,
                deadline: now,
                completed: completed.then_some(now),
            },
        }
    }

    #[test]
    fn a_tagged_candidate_with_an_email_is_invited() {
        let id = Uuid::new_v4();
        let (cat, emails) = (catalogue(id), vec!["not an email".to_string(), "a@b.test".to_string()]);
        let decision = decide(&facts(&cat, &emails, &[]));
        let email = EmailAddress::parse("a@b.test").unwrap();
        assert_eq!(decision, Decision::Invite { to: vec![id], email, standing: vec![] });
    }

    #[test]
    fn the_reasons_not_to_invite_come_in_order() {
        let id = Uuid::new_v4();
        let (cat, emails) = (catalogue(id), vec!["a@b.test".to_string()]);
        let archived = Facts { archived: true, ..facts(&cat, &emails, &[]) };
        assert_eq!(decide(&archived), Decision::Explain(Problem::Archived));
        let untagged = Facts { tags: vec!["Senior"], ..facts(&cat, &emails, &[]) };
        assert!(matches!(decide(&untagged), Decision::Explain(Problem::NoTag { .. })));
        let no_email = facts(&cat, &[], &[]);
        assert_eq!(decide(&no_email), Decision::Explain(Problem::NoEmail));
    }

    #[test]
    fn no_email_goes_to_a_candidate_lever_may_not_contact() {
        let id = Uuid::new_v4();
        let (cat, emails) = (catalogue(id), vec!["a@b.test".to_string()]);
        let refused = Facts { contact: Contact::NotAllowed, ..facts(&cat, &emails, &[]) };
        assert_eq!(decide(&refused), Decision::Explain(Problem::ContactNotAllowed { expired: None }));
        let at = Utc::now() - chrono::Duration::days(1);
        let lapsed = Facts { contact: Contact::Expired(at), ..facts(&cat, &emails, &[]) };
        assert_eq!(decide(&lapsed), Decision::Explain(Problem::ContactNotAllowed { expired: Some(at) }));
        // The same move reported twice stays handled, and is not explained again.
        let same = [standing(id, 5, false)];
        let repeated = Facts { contact: Contact::NotAllowed, ..facts(&cat, &emails, &same) };
        assert_eq!(decide(&repeated), Decision::AlreadyHandled);
    }

    #[test]
    fn levers_data_protection_decides_contact() {
        let now = Utc::now();
        let (past, future) = (now - chrono::Duration::hours(1), now + chrono::Duration::days(30));
        assert_eq!(Contact::from_lever(None, None, now), Contact::Allowed);
        assert_eq!(Contact::from_lever(Some(true), None, now), Contact::Allowed);
        assert_eq!(Contact::from_lever(Some(true), Some(future), now), Contact::Allowed);
        assert_eq!(Contact::from_lever(Some(false), None, now), Contact::NotAllowed);
        assert_eq!(Contact::from_lever(Some(false), Some(future), now), Contact::NotAllowed);
        assert_eq!(Contact::from_lever(Some(true), Some(past), now), Contact::Expired(past));
    }

    #[test]
    fn the_same_move_twice_is_handled_once_and_a_new_move_is_explained() {
        let id = Uuid::new_v4();
        let (cat, emails) = (catalogue(id), vec!["a@b.test".to_string()]);
        let same = [standing(id, 5, false)];
        assert_eq!(decide(&facts(&cat, &emails, &same)), Decision::AlreadyHandled);
        let earlier = [standing(id, 4, true)];
        let Decision::Explain(Problem::AlreadyInvited(list)) = decide(&facts(&cat, &emails, &earlier)) else {
            panic!("a completed assessment is not sent again")
        };
        assert_eq!(list.len(), 1);
    }
}
