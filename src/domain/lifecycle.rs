//! The invitation lifecycle as Lever sees it: which stages trigger, which status tag an
//! opportunity carries, and how a result becomes Lever's 1–4 rating.

use super::{invitation::InvitationStatus, resolution::normalize};

/// A stage triggers an invitation when the admin picked it, or — when no stage is
/// picked — when its name starts with the brand word.
pub fn is_trigger_stage(brand: &str, picked: &[String], stage_id: &str, stage_name: Option<&str>) -> bool {
    if !picked.is_empty() {
        return picked.iter().any(|p| p == stage_id);
    }
    stage_name.is_some_and(|name| {
        let name = normalize(name);
        let brand = normalize(brand);
        name == brand || name.starts_with(&format!("{brand} ")) || name.starts_with(&format!("{brand}:"))
    })
}

/// An invitation's status as Lever shows it. (Whether Lever shows a cancel at all depends
/// on why: see `CancelReason::shows_in_lever`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Invited,
    Started,
    Completed { passed: bool },
    Expired,
    Cancelled,
}

impl Status {
    pub fn of(status: InvitationStatus, passed: Option<bool>) -> Option<Self> {
        match status {
            InvitationStatus::Invited => Some(Self::Invited),
            InvitationStatus::Started => Some(Self::Started),
            InvitationStatus::Completed => Some(Self::Completed { passed: passed.unwrap_or(false) }),
            InvitationStatus::Expired => Some(Self::Expired),
            InvitationStatus::Cancelled => Some(Self::Cancelled),
        }
    }

    /// How reports and dashboards name the result.
    pub fn label(status: Option<Self>) -> &'static str {
        match status {
            Some(Self::Completed { passed: true }) => "Passed",
            Some(Self::Completed { passed: false }) => "Failed",
            Some(Self::Expired) => "Expired",
            Some(Self::Cancelled) => "Cancelled",
            Some(Self::Started) => "In progress",
            Some(Self::Invited) | None => "Not started",
        }
    }

    /// Invitations still in progress outrank finished ones when an opportunity has several.
    fn live(self) -> bool {
        matches!(self, Self::Invited | Self::Started)
    }
}

pub struct StatusTags {
    pub invited: String,
    pub in_progress: String,
    pub completed: String,
    pub passed: String,
    pub failed: String,
    pub expired: String,
    pub cancelled: String,
    pub error: String,
}

impl StatusTags {
    pub fn new(brand: &str) -> Self {
        let tag = |what: &str| format!("{brand}: {what}");
        Self {
            invited: tag("Candidate Invited"),
            in_progress: tag("Assessment in Progress"),
            completed: tag("Assessment Completed"),
            passed: tag("Passed"),
            failed: tag("Failed"),
            expired: tag("Assessment Expired"),
            cancelled: tag("Assessment Cancelled"),
            error: tag("Error"),
        }
    }

    pub fn all(&self) -> Vec<String> {
        [
            &self.invited,
            &self.in_progress,
            &self.completed,
            &self.passed,
            &self.failed,
            &self.expired,
            &self.cancelled,
            &self.error,
        ]
        .into_iter()
        .cloned()
        .collect()
    }

    pub fn for_status(&self, status: Status) -> Vec<String> {
        match status {
            Status::Invited => vec![self.invited.clone()],
            Status::Started => vec![self.in_progress.clone()],
            Status::Completed { passed: true } => vec![self.completed.clone(), self.passed.clone()],
            Status::Completed { passed: false } => vec![self.completed.clone(), self.failed.clone()],
            Status::Expired => vec![self.expired.clone()],
            Status::Cancelled => vec![self.cancelled.clone()],
        }
    }

    /// The status tags an opportunity should carry, given its invitations (status, and when
    /// it last changed — newest last). Tags are mutually exclusive, so one status wins:
    /// the furthest along of the invitations still open, else the latest to finish.
    pub fn desired<T: Ord>(&self, invitations: &[(Status, T)]) -> Vec<String> {
        let open = invitations.iter().filter(|(s, _)| s.live()).max_by_key(|(s, _)| matches!(s, Status::Started));
        let latest = invitations.iter().max_by(|a, b| a.1.cmp(&b.1));
        match open.or(latest) {
            Some((status, _)) => self.for_status(*status),
            None => Vec::new(),
        }
    }
}

/// Lever's overall rating, derived from the result: passed gives 3 or 4, failed 2 or 1,
/// expired 1; within a result a higher score never gives a lower rating.
pub fn rating(status: Status, score: Option<i32>, pass_mark: i32) -> u8 {
    let score = score.unwrap_or(0);
    match status {
        Status::Completed { passed: true } => {
            let strong = pass_mark + (100 - pass_mark + 1) / 2;
            if score >= strong { 4 } else { 3 }
        }
        Status::Completed { passed: false } if score > 0 && score * 2 >= pass_mark => 2,
        _ => 1,
    }
}

/// Lever's score-system value for a rating.
pub fn rating_label(rating: u8) -> &'static str {
    match rating {
        4 => "4 - Strong Hire",
        3 => "3 - Hire",
        2 => "2 - No Hire",
        _ => "1 - Strong No Hire",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picked_stages_win_over_the_brand_rule() {
        let picked = vec!["st-1".to_string()];
        assert!(is_trigger_stage("Fulcrum", &picked, "st-1", Some("Phone screen")));
        assert!(!is_trigger_stage("Fulcrum", &picked, "st-2", Some("Fulcrum Assessment")));
    }

    #[test]
    fn without_picks_brand_named_stages_trigger() {
        assert!(is_trigger_stage("Fulcrum", &[], "x", Some("Fulcrum Assessment")));
        assert!(is_trigger_stage("Fulcrum", &[], "x", Some("fulcrum  coding test")));
        assert!(!is_trigger_stage("Fulcrum", &[], "x", Some("Fulcrumish")));
        assert!(!is_trigger_stage("Fulcrum", &[], "x", Some("Onsite")));
        assert!(!is_trigger_stage("Fulcrum", &[], "x", None));
    }

    #[test]
    fn status_tags_read_as_the_product_names_them() {
        let t = StatusTags::new("Fulcrum");
        assert_eq!(t.for_status(Status::Invited), vec!["Fulcrum: Candidate Invited"]);
        assert_eq!(t.for_status(Status::Started), vec!["Fulcrum: Assessment in Progress"]);
        assert_eq!(
            t.for_status(Status::Completed { passed: true }),
            vec!["Fulcrum: Assessment Completed", "Fulcrum: Passed"]
        );
        assert_eq!(t.for_status(Status::Expired), vec!["Fulcrum: Assessment Expired"]);
        assert_eq!(t.for_status(Status::Cancelled), vec!["Fulcrum: Assessment Cancelled"]);
        assert_eq!(t.all().len(), 8);
    }

    #[test]
    fn open_invitations_outrank_finished_ones() {
        let t = StatusTags::new("F");
        let both = [(Status::Completed { passed: true }, 2), (Status::Invited, 1)];
        assert_eq!(t.desired(&both), vec!["F: Candidate Invited"]);
        let started = [(Status::Invited, 3), (Status::Started, 1)];
        assert_eq!(t.desired(&started), vec!["F: Assessment in Progress"]);
        let finished = [(Status::Expired, 1), (Status::Completed { passed: false }, 2)];
        assert_eq!(t.desired(&finished), vec!["F: Assessment Completed", "F: Failed"]);
        let cancelled_last = [(Status::Completed { passed: true }, 1), (Status::Cancelled, 2)];
        assert_eq!(t.desired(&cancelled_last), vec!["F: Assessment Cancelled"]);
        let cancelled_while_open = [(Status::Cancelled, 2), (Status::Invited, 1)];
        assert_eq!(t.desired(&cancelled_while_open), vec!["F: Candidate Invited"]);
        assert!(t.desired::<i32>(&[]).is_empty());
    }

    #[test]
    fn ratings_follow_the_result_and_never_fall_with_score() {
        let passed = Status::Completed { passed: true };
        let failed = Status::Completed { passed: false };
        assert_eq!(rating(passed, Some(70), 70), 3);
        assert_eq!(rating(passed, Some(85), 70), 4);
        assert_eq!(rating(passed, Some(100), 70), 4);
        assert_eq!(rating(failed, Some(69), 70), 2);
        assert_eq!(rating(failed, Some(20), 70), 1);
        assert_eq!(rating(failed, Some(0), 0), 1);
        assert_eq!(rating(Status::Expired, None, 70), 1);
        for pass_mark in [0, 1, 50, 70, 99, 100] {
            for (status, range) in [(passed, pass_mark..=100), (failed, 0..=pass_mark)] {
                let mut last = 0;
                for score in range {
                    let r = rating(status, Some(score), pass_mark);
                    assert!(r >= last, "{status:?} {score}/{pass_mark}");
                    last = r;
                }
            }
            assert!((3..=4).contains(&rating(passed, Some(pass_mark), pass_mark)));
        }
        assert_eq!(rating_label(4), "4 - Strong Hire");
        assert_eq!(rating_label(1), "1 - Strong No Hire");
    }
}
