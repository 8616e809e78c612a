//! Why a candidate was not invited: the causes Fulcrum explains on the candidate in Lever
//! (the words are in `templates/copy/`, filled in by `copy`).

use chrono::{DateTime, Utc};

use super::resolution::{self, Resolved};

/// An earlier invitation to the same assessment that stands in the way of a new one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Earlier {
    pub assessment: String,
    pub sent: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub completed: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// No assessment tag; the tags seen, and near misses with what they were close to.
    NoTag {
        seen: Vec<String>,
        near: Vec<(String, String)>,
    },
    /// Tags that look like assessment tags but name none (with a suggestion where close).
    Unknown(Vec<(String, Option<String>)>),
    /// Tags of assessments that are switched off.
    Inactive(Vec<String>),
    NoEmail,
    Archived,
    AlreadyInvited(Vec<Earlier>),
    /// Lever's data protection does not allow contacting the candidate (their consent ran
    /// out at `expired`, when that is why).
    ContactNotAllowed {
        expired: Option<DateTime<Utc>>,
    },
    /// Lever refused for lack of a permission; its words.
    Permission(String),
}

impl Problem {
    /// Why resolution found nothing to invite to.
    pub fn from_resolution(brand: &str, r: &Resolved) -> Self {
        if !r.inactive.is_empty() {
            return Self::Inactive(r.inactive.clone());
        }
        if r.unknown.iter().any(|(tag, _)| resolution::normalize(tag).starts_with(&resolution::normalize(brand))) {
            return Self::Unknown(r.unknown.clone());
        }
        let near = r.unknown.iter().filter_map(|(tag, s)| Some((tag.clone(), s.clone()?))).collect();
        Self::NoTag { seen: r.seen.clone(), near }
    }
}
