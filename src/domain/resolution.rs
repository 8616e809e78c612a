//! Which assessments a candidate gets, from the tags on the posting and the opportunity.
//!
//! Two tag schemes are always on: the name tag `{brand} {assessment name}` (as CodeScreen
//! does it) and the assessment's code, e.g. `FC-81519` (as Codejudge does it). Matching
//! ignores case and repeated white space. Fulcrum's own status tags (`{brand}: …`) are
//! never taken for assessment tags.

use uuid::Uuid;

/// An assessment as resolution sees it.
#[derive(Clone, Debug)]
pub struct Candidate<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub code: &'a str,
    pub active: bool,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Active assessments to invite to, each once, in the order their tags appeared.
    pub invite: Vec<Uuid>,
    /// Tags naming an assessment that is switched off.
    pub inactive: Vec<String>,
    /// Tags shaped like Fulcrum's (brand word or code) that name no assessment, with the
    /// closest real tag when one is near.
    pub unknown: Vec<(String, Option<String>)>,
    /// Every tag looked at, Fulcrum's status tags left out: shown when nothing matched.
    pub seen: Vec<String>,
}

/// Lower case, single spaces, trimmed.
pub fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

pub fn name_tag(brand: &str, name: &str) -> String {
    format!("{brand} {}", name.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// True for Fulcrum's own status tags, `{brand}: …`.
pub fn is_status_tag(brand: &str, tag: &str) -> bool {
    normalize(tag).starts_with(&format!("{}:", normalize(brand)))
}

/// Shaped like an assessment code (`FC-81519`): two letters, a dash, digits.
fn looks_like_code(tag: &str) -> bool {
    let tag = tag.trim();
    match tag.split_once('-') {
        Some((letters, digits)) => {
            letters.len() == 2
                && letters.chars().all(|c| c.is_ascii_alphabetic())
                && !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

pub fn resolve<'t>(brand: &str, tags: impl IntoIterator<Item = &'t str>, assessments: &[Candidate<'_>]) -> Resolved {
    let brand_word = normalize(brand);
    let keyed: Vec<(String, String, &Candidate)> =
        assessments.iter().map(|a| (normalize(&name_tag(brand, a.name)), normalize(a.code), a)).collect();
    let mut resolved = Resolved::default();
    for tag in tags {
        if tag.trim().is_empty() || is_status_tag(brand, tag) {
            continue;
        }
        let key = normalize(tag);
        if resolved.seen.iter().any(|seen| normalize(seen) == key) {
            continue;
        }
        resolved.seen.push(tag.trim().to_string());
        match keyed.iter().find(|(name, code, _)| *name == key || *code == key) {
            Some((_, _, a)) if a.active => {
                if !resolved.invite.contains(&a.id) {
                    resolved.invite.push(a.id);
                }
            }
            Some(_) => resolved.inactive.push(tag.trim().to_string()),
            None => {
                let ours = key.starts_with(&format!("{brand_word} ")) || looks_like_code(tag);
                let suggestion = did_you_mean(brand, &key, assessments);
                if ours || suggestion.is_some() {
                    resolved.unknown.push((tag.trim().to_string(), suggestion));
                }
            }
        }
    }
    resolved
}

/// The real tag closest to `key` when it is a near miss: within two edits, or a fifth of
/// its length for long names.
fn did_you_mean(brand: &str, key: &str, assessments: &[Candidate<'_>]) -> Option<String> {
    let limit = (key.chars().count() / 5).max(2);
    assessments
        .iter()
        .filter(|a| a.active)
        .flat_map(|a| [name_tag(brand, a.name), a.code.to_string()])
        .map(|tag| (strsim::levenshtein(&normalize(&tag), key), tag))
        .filter(|(distance, _)| *distance > 0 && *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, tag)| tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Vec<(Uuid, &'static str, &'static str, bool)> {
        vec![
            (Uuid::from_u128(1), "Backend Engineer", "FC-81519", true),
            (Uuid::from_u128(2), "Frontend Developer", "FC-22222", true),
            (Uuid::from_u128(3), "Old Test", "FC-33333", false),
        ]
    }

    fn run(tags: &[&str]) -> Resolved {
        let c = catalogue();
        let list: Vec<Candidate> =
            c.iter().map(|(id, name, code, active)| Candidate { id: *id, name, code, active: *active }).collect();
        resolve("Fulcrum", tags.iter().copied(), &list)
    }

    #[test]
    fn name_tags_match_ignoring_case_and_spacing() {
        assert_eq!(run(&["Fulcrum Backend Engineer"]).invite, vec![Uuid::from_u128(1)]);
        assert_eq!(run(&["  fulcrum   BACKEND engineer "]).invite, vec![Uuid::from_u128(1)]);
    }

    #[test]
    fn code_tags_match_too() {
        assert_eq!(run(&["FC-22222"]).invite, vec![Uuid::from_u128(2)]);
        assert_eq!(run(&["fc-22222"]).invite, vec![Uuid::from_u128(2)]);
    }

    #[test]
    fn each_distinct_assessment_once() {
        let r = run(&["FC-81519", "Fulcrum Backend Engineer", "Fulcrum Frontend Developer", "Remote"]);
        assert_eq!(r.invite, vec![Uuid::from_u128(1), Uuid::from_u128(2)]);
        assert!(r.unknown.is_empty());
    }

    #[test]
    fn status_tags_are_never_assessment_tags() {
        let r = run(&["Fulcrum: Candidate Invited", "Fulcrum: Error"]);
        assert!(r.invite.is_empty() && r.seen.is_empty());
    }

    #[test]
    fn inactive_assessments_are_reported() {
        let r = run(&["Fulcrum Old Test"]);
        assert!(r.invite.is_empty());
        assert_eq!(r.inactive, vec!["Fulcrum Old Test"]);
    }

    #[test]
    fn near_misses_get_a_suggestion() {
        let r = run(&["Fulcrum Backend Enginer", "Senior"]);
        assert!(r.invite.is_empty());
        assert_eq!(r.unknown, vec![("Fulcrum Backend Enginer".into(), Some("Fulcrum Backend Engineer".into()))]);
        assert_eq!(r.seen, vec!["Fulcrum Backend Enginer", "Senior"]);
        let r = run(&["FC-81591"]);
        assert_eq!(r.unknown, vec![("FC-81591".into(), Some("FC-81519".into()))]);
    }

    #[test]
    fn brand_shaped_tags_without_a_near_assessment_are_unknown() {
        let r = run(&["Fulcrum Data Scientist", "Engineering"]);
        assert_eq!(r.unknown, vec![("Fulcrum Data Scientist".into(), None)]);
        assert_eq!(r.seen.len(), 2);
    }

    #[test]
    fn unrelated_tags_are_only_seen() {
        let r = run(&["Engineering", "Berlin"]);
        assert!(r.invite.is_empty() && r.unknown.is_empty() && r.inactive.is_empty());
        assert_eq!(r.seen, vec!["Engineering", "Berlin"]);
    }
}
