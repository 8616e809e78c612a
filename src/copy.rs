//! Words people read that Fulcrum writes outside its pages: the explanations it leaves on
//! candidates in Lever and the notices it emails. The words live in `templates/copy/`,
//! beside the pages' templates; this module only fills them in.

use askama::Template;
use chrono::{DateTime, Utc};

use crate::domain::{
    invitation::CancelReason,
    problem::{Earlier, Problem},
};

/// Fills in one piece of copy. The templates are checked when Fulcrum is compiled, so
/// rendering cannot fail at run time but for a bug.
pub fn text(copy: &impl Template) -> String {
    let rendered = copy.render().expect("copy templates render");
    rendered.trim_end_matches('\n').to_string()
}

/// The note in Lever when the invite email went out.
#[derive(Template)]
#[template(path = "copy/invite_note.txt", escape = "none")]
pub struct InviteNote<'a> {
    pub brand: &'a str,
    pub assessment: &'a str,
    pub who: &'a str,
    pub email: &'a str,
    pub deadline: DateTime<Utc>,
    pub report: &'a str,
    pub marker: &'a str,
}

/// Why an invitation was cancelled, as a clause ("the candidate was hired in Lever before
/// finishing it"): in the cancel note and on the report page.
#[derive(Template)]
#[template(path = "copy/cancel_why.txt", escape = "none")]
pub struct CancelWhy<'a> {
    pub brand: &'a str,
    pub reason: &'a CancelReason,
}

/// The note in Lever beside `{brand}: Assessment Cancelled`.
#[derive(Template)]
#[template(path = "copy/cancel_note.txt", escape = "none")]
pub struct CancelNote<'a> {
    pub brand: &'a str,
    pub assessment: &'a str,
    pub who: &'a str,
    /// A [`CancelWhy`].
    pub why: &'a str,
    pub report: &'a str,
    pub marker: &'a str,
}

/// The note in Lever when an admin sent the invite again and it went out.
#[derive(Template)]
#[template(path = "copy/resend_note.txt", escape = "none")]
pub struct ResendNote<'a> {
    pub brand: &'a str,
    pub assessment: &'a str,
    pub who: &'a str,
    pub email: &'a str,
    pub reopened: bool,
    pub deadline: DateTime<Utc>,
    pub report: &'a str,
    pub marker: &'a str,
}

/// The note in Lever when an admin extended the deadline.
#[derive(Template)]
#[template(path = "copy/extend_note.txt", escape = "none")]
pub struct ExtendNote<'a> {
    pub brand: &'a str,
    pub assessment: &'a str,
    pub who: &'a str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub report: &'a str,
    pub marker: &'a str,
}

/// The scored note in Lever when no feedback form could be written.
#[derive(Template)]
#[template(path = "copy/result_note.txt", escape = "none")]
pub struct ResultNote<'a> {
    pub brand: &'a str,
    pub assessment: &'a str,
    pub result: &'a str,
    pub score: i32,
    pub pass_mark: i32,
    pub rating: &'a str,
    pub failure_reason: Option<&'a str>,
    pub report: &'a str,
    pub why: &'a str,
    pub marker: &'a str,
}

/// The note beside `{brand}: Error`.
#[derive(Template)]
#[template(path = "copy/error_note.txt", escape = "none")]
pub struct ErrorNote<'a> {
    pub brand: &'a str,
    pub why: &'a str,
    pub fix: &'a str,
    pub marker: &'a str,
}

/// Emailed to admins when Lever access was found revoked.
#[derive(Template)]
#[template(path = "copy/reconnect_notice.txt", escape = "none")]
pub struct ReconnectNotice<'a> {
    pub brand: &'a str,
}

/// Emailed to admins a month before Lever's one-year limit.
#[derive(Template)]
#[template(path = "copy/expiry_notice.txt", escape = "none")]
pub struct ExpiryNotice;

/// Emailed to a candidate who has not started before the deadline nears.
#[derive(Template)]
#[template(path = "copy/reminder.txt", escape = "none")]
pub struct Reminder<'a> {
    pub name: &'a str,
    pub company: &'a str,
    pub assessment: &'a str,
    pub deadline: &'a str,
    pub time_limit: &'a str,
}

/// Emailed to the organization's people when a result is in.
#[derive(Template)]
#[template(path = "copy/result_ready.txt", escape = "none")]
pub struct ResultReady<'a> {
    pub who: &'a str,
    pub assessment: &'a str,
    pub verdict: &'a str,
    pub score: i32,
}

/// An email about someone's account: a subject, the label of the button that carries its
/// link, and the text leading up to the link. Each comes from a block of the same copy
/// template (`subject`, `button`, `body`).
pub struct Mail {
    pub subject: String,
    pub button: String,
    pub text: String,
}

/// Renders the three blocks of an account email's copy; the subject and button stay on one
/// line whatever the values hold.
macro_rules! account_mail {
    ($($name:ident),+) => {$(
        impl $name<'_> {
            pub fn mail(&self) -> Mail {
                let line = |text: String| text.replace(['\r', '\n'], " ").trim().to_string();
                Mail {
                    subject: line(text(&self.as_subject())),
                    button: line(text(&self.as_button())),
                    text: text(&self.as_body()).trim().to_string(),
                }
            }
        }
    )+};
}

/// To a new admin: confirm the address to start using the organization.
#[derive(Template)]
#[template(path = "copy/confirm_email.txt", escape = "none", blocks = ["subject", "button", "body"])]
pub struct ConfirmEmail<'a> {
    pub brand: &'a str,
    pub organization: &'a str,
    pub deadline: &'a str,
}

/// To an address that already has an account, when someone tried to sign up with it.
#[derive(Template)]
#[template(path = "copy/signup_attempt.txt", escape = "none", blocks = ["subject", "button", "body"])]
pub struct SignupAttempt<'a> {
    pub brand: &'a str,
    pub forgot_url: &'a str,
}

/// To someone who asked for a new password.
#[derive(Template)]
#[template(path = "copy/password_reset.txt", escape = "none", blocks = ["subject", "button", "body"])]
pub struct PasswordReset<'a> {
    pub brand: &'a str,
    pub deadline: &'a str,
}

/// To someone an admin invited to the team.
#[derive(Template)]
#[template(path = "copy/team_invite.txt", escape = "none", blocks = ["subject", "button", "body"])]
pub struct TeamInvite<'a> {
    pub brand: &'a str,
    pub organization: &'a str,
    /// The admin's name or address.
    pub inviter: &'a str,
    pub admin: bool,
    pub deadline: &'a str,
}

account_mail!(ConfirmEmail, SignupAttempt, PasswordReset, TeamInvite);

#[derive(Template)]
#[template(path = "copy/invite_refused_why.txt", escape = "none")]
struct InviteRefusedWhy<'a> {
    email: &'a str,
    error: &'a str,
}

#[derive(Template)]
#[template(path = "copy/invite_refused_fix.txt", escape = "none")]
struct InviteRefusedFix;

#[derive(Template)]
#[template(path = "copy/invite_unsent_why.txt", escape = "none")]
struct InviteUnsentWhy<'a> {
    email: &'a str,
    attempts: i32,
    error: &'a str,
}

#[derive(Template)]
#[template(path = "copy/invite_unsent_fix.txt", escape = "none")]
struct InviteUnsentFix<'a> {
    brand: &'a str,
}

/// The mail server refused the invite for good.
pub fn invite_refused(email: &str, error: &str) -> Explained {
    Explained { why: text(&InviteRefusedWhy { email, error }), fix: text(&InviteRefusedFix) }
}

/// The invite could not be sent after every attempt.
pub fn invite_unsent(brand: &str, email: &str, attempts: i32, error: &str) -> Explained {
    Explained { why: text(&InviteUnsentWhy { email, attempts, error }), fix: text(&InviteUnsentFix { brand }) }
}

/// Why a candidate was not invited, and how to fix it, as the note in Lever says.
pub struct Explained {
    pub why: String,
    pub fix: String,
}

#[derive(Template)]
#[template(path = "copy/problem_why.txt", escape = "none")]
struct Why<'a> {
    brand: &'a str,
    problem: &'a Problem,
}

#[derive(Template)]
#[template(path = "copy/problem_fix.txt", escape = "none")]
struct Fix<'a> {
    brand: &'a str,
    problem: &'a Problem,
}

pub fn explain(brand: &str, problem: &Problem) -> Explained {
    Explained { why: text(&Why { brand, problem }), fix: text(&Fix { brand, problem }) }
}

// What the templates call (as methods: askama looks them up on the template).

impl Why<'_> {
    fn quoted(&self, items: &[String]) -> String {
        quoted(items)
    }

    fn has_open(&self, earlier: &[Earlier]) -> bool {
        has_open(earlier)
    }

    fn has_done(&self, earlier: &[Earlier]) -> bool {
        earlier.iter().any(|e| e.completed.is_some())
    }

    /// Whether `index` is the first open invitation of the list (no separator before it).
    fn first_open(&self, earlier: &[Earlier], index: usize) -> bool {
        !earlier[..index].iter().any(|e| e.completed.is_none())
    }

    fn first_done(&self, earlier: &[Earlier], index: usize) -> bool {
        !earlier[..index].iter().any(|e| e.completed.is_some())
    }
}

impl Fix<'_> {
    fn has_open(&self, earlier: &[Earlier]) -> bool {
        has_open(earlier)
    }
}

fn quoted(items: &[String]) -> String {
    items.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ")
}

fn has_open(earlier: &[Earlier]) -> bool {
    earlier.iter().any(|e| e.completed.is_none())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn why(problem: Problem) -> String {
        explain("Fulcrum", &problem).why
    }

    #[test]
    fn missing_tags_list_what_was_seen_and_near_misses() {
        let none = why(Problem::NoTag { seen: vec![], near: vec![] });
        assert_eq!(none, "No assessment tag was found on the posting or the opportunity. Tags seen: none.");
        let near = why(Problem::NoTag {
            seen: vec!["Senior".into(), "FC-1234".into()],
            near: vec![("FC-1234".into(), "FC-12345".into())],
        });
        assert_eq!(
            near,
            "No assessment tag was found on the posting or the opportunity. Tags seen: \"Senior\", \"FC-1234\". \
             \"FC-1234\" is not an assessment tag — did you mean \"FC-12345\"?"
        );
        let unknown = why(Problem::Unknown(vec![
            ("Fulcrum Backnd".into(), Some("Fulcrum Backend".into())),
            ("Fulcrum X".into(), None),
        ]));
        assert_eq!(
            unknown,
            "No assessment in Fulcrum matches the tag \"Fulcrum Backnd\" (did you mean \"Fulcrum Backend\"?), \
             \"Fulcrum X\"."
        );
        let fix = explain("Fulcrum", &Problem::NoTag { seen: vec![], near: vec![] }).fix;
        assert!(fix.starts_with("Add the tag \"Fulcrum <assessment name>\" or the assessment's code"), "{fix}");
    }

    #[test]
    fn earlier_invitations_say_when_and_what_to_do() {
        let at = |d| Utc.with_ymd_and_hms(2026, 1, d, 9, 30, 0).unwrap();
        let open = Earlier { assessment: "Backend".into(), sent: at(1), deadline: at(8), completed: None };
        let done = Earlier { assessment: "Frontend".into(), sent: at(1), deadline: at(8), completed: Some(at(3)) };
        let both = explain("Fulcrum", &Problem::AlreadyInvited(vec![open.clone(), done.clone(), open.clone()]));
        assert_eq!(
            both.why,
            "The candidate already has an open invitation: Backend (sent 2026-01-01, valid until 2026-01-08 09:30 UTC); \
             Backend (sent 2026-01-01, valid until 2026-01-08 09:30 UTC). The candidate has already taken Frontend \
             (completed 2026-01-03)."
        );
        assert!(both.fix.starts_with("Wait until it is completed or expires"));
        let taken = explain("Fulcrum", &Problem::AlreadyInvited(vec![done]));
        assert_eq!(taken.why, "The candidate has already taken Frontend (completed 2026-01-03).");
        assert!(taken.fix.starts_with("Nothing to do: a candidate takes each assessment once"));
    }

    #[test]
    fn account_emails_keep_subject_and_button_on_one_line() {
        let confirm = ConfirmEmail { brand: "Ful\r\ncrum", organization: "Acme", deadline: "soon" }.mail();
        assert_eq!(confirm.subject, "Confirm your email address for Ful  crum");
        assert_eq!(confirm.button, "Confirm my address");
        assert!(
            confirm.text.starts_with("Someone, most likely you, created the organization \"Acme\""),
            "{}",
            confirm.text
        );
        assert!(confirm.text.ends_with("It works once:") && !confirm.text.contains("{%"), "{}", confirm.text);
    }

    #[test]
    fn team_invites_name_the_organization_and_the_role() {
        let invite = |admin| TeamInvite {
            brand: "Fulcrum",
            organization: "Acme\r\nBcc: x@y.z",
            inviter: "ada@acme.test",
            admin,
            deadline: "8 January 2026, 09:30 UTC",
        };
        let mail = invite(false).mail();
        assert_eq!(mail.subject, "ada@acme.test invited you to join Acme  Bcc: x@y.z on Fulcrum");
        assert_eq!(mail.button, "Join Acme  Bcc: x@y.z");
        assert!(mail.text.starts_with("ada@acme.test invited you"), "{}", mail.text);
        assert!(mail.text.contains("as a member") && mail.text.ends_with("The link works once:"), "{}", mail.text);
        assert!(invite(true).mail().text.contains("as an admin, who manages everything"));
    }

    #[test]
    fn a_candidate_lever_may_not_contact_is_explained() {
        let refused = explain("Fulcrum", &Problem::ContactNotAllowed { expired: None });
        assert_eq!(
            refused.why,
            "The candidate's data protection settings in Lever do not allow contacting them, so Fulcrum sent no \
             assessment email."
        );
        assert_eq!(
            refused.fix,
            "Once the candidate allows contact (the data protection section of their profile in Lever), move them \
             into the stage again."
        );
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 9, 30, 0).unwrap();
        let lapsed = why(Problem::ContactNotAllowed { expired: Some(at) });
        assert_eq!(
            lapsed,
            "The candidate's consent to be contacted ran out in Lever on 2026-01-02, so Fulcrum sent no assessment email."
        );
    }

    #[test]
    fn cancel_notes_say_why_and_what_the_candidate_sees() {
        let why = |reason: &CancelReason| text(&CancelWhy { brand: "Fulcrum", reason });
        assert_eq!(why(&CancelReason::Admin { by: "Ada Admin".into() }), "Ada Admin cancelled it in Fulcrum");
        assert_eq!(why(&CancelReason::Hired), "the candidate was hired in Lever before finishing it");
        assert_eq!(
            why(&CancelReason::Archived { reason: Some("Underqualified".into()) }),
            "the candidate was archived in Lever (Underqualified) before finishing it"
        );
        assert_eq!(
            why(&CancelReason::Archived { reason: None }),
            "the candidate was archived in Lever before finishing it"
        );
        assert_eq!(why(&CancelReason::Removed), "the candidate was deleted or anonymized in Lever");
        let note = text(&CancelNote {
            brand: "Fulcrum",
            assessment: "Backend",
            who: "Ada Lovelace",
            why: &why(&CancelReason::Hired),
            report: "https://f.test/app/invitations/1",
            marker: "Fulcrum ref 1/cancel",
        });
        assert_eq!(
            note,
            "Fulcrum cancelled the Backend assessment sent to Ada Lovelace: the candidate was hired in Lever before \
             finishing it.\nThe candidate's link now says the assessment is no longer needed.\n\
             Report: https://f.test/app/invitations/1\nFulcrum ref 1/cancel"
        );
    }

    #[test]
    fn resend_and_extend_notes_give_the_dates() {
        let at = |d| Utc.with_ymd_and_hms(2026, 1, d, 9, 30, 0).unwrap();
        let resend = |reopened| {
            text(&ResendNote {
                brand: "Fulcrum",
                assessment: "Backend",
                who: "Ada Lovelace",
                email: "ada@example.test",
                reopened,
                deadline: at(9),
                report: "https://f.test/r",
                marker: "Fulcrum ref 1/2-resend",
            })
        };
        assert_eq!(
            resend(false),
            "Fulcrum sent the Backend assessment to Ada Lovelace at ada@example.test again.\n\
             The link expires on 2026-01-09 09:30 UTC.\nReport: https://f.test/r\nFulcrum ref 1/2-resend"
        );
        assert!(resend(true).starts_with(
            "Fulcrum sent the Backend assessment to Ada Lovelace at ada@example.test again, reopening the expired \
             invitation.\n"
        ));
        let extend = text(&ExtendNote {
            brand: "Fulcrum",
            assessment: "Backend",
            who: "Ada Lovelace",
            from: at(8),
            to: at(11),
            report: "https://f.test/r",
            marker: "Fulcrum ref 1/1-extend",
        });
        assert_eq!(
            extend,
            "Fulcrum extended the deadline of the Backend assessment for Ada Lovelace from 2026-01-08 09:30 UTC to \
             2026-01-11 09:30 UTC.\nReport: https://f.test/r\nFulcrum ref 1/1-extend"
        );
    }

    #[test]
    fn every_problem_has_words_and_a_fix() {
        for problem in [
            Problem::Inactive(vec!["FC-1".into()]),
            Problem::NoEmail,
            Problem::Archived,
            Problem::Permission("403 from /notes".into()),
            Problem::ContactNotAllowed { expired: None },
        ] {
            let Explained { why, fix } = explain("Fulcrum", &problem);
            assert!(why.ends_with('.') && !why.contains('\n'), "{problem:?}: {why:?}");
            assert!(fix.ends_with('.') && !fix.contains('\n'), "{problem:?}: {fix:?}");
        }
        assert_eq!(
            why(Problem::Inactive(vec!["FC-1".into()])),
            "The assessment tagged \"FC-1\" is switched off in Fulcrum."
        );
    }
}
