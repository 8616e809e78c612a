//! Cursor pagination for the API's lists: `limit` (1–200, default 50) and `cursor`, the
//! opaque `next_cursor` of the page before. A cursor is the last item's sort key, so a page
//! stays where it was when items are added or removed before it.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::error::AppError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// `limit` and `cursor` as they come in the query string.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// Where a list resumes: after the item with this sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// Invitations, newest first: (created_at, id).
    Invitation(DateTime<Utc>, Uuid),
    /// Assessments, by name: the normalised name.
    Assessment(String),
}

/// A page request, checked.
pub struct Page {
    pub limit: i64,
    pub after: Option<Cursor>,
}

impl PageQuery {
    pub fn parse(&self) -> Result<Page, AppError> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(text) => text.trim().parse::<i64>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                AppError::invalid("limit", format!("limit must be a whole number from 1 to {MAX_LIMIT}"))
            })?,
        };
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
                AppError::invalid("cursor", "cursor is not one this list gave out: use a next_cursor as it came, or leave it out to start again")
            })?),
        };
        Ok(Page { limit, after })
    }
}

impl Cursor {
    pub fn encode(&self) -> String {
        let plain = match self {
            Self::Invitation(at, id) => format!("i1:{}:{id}", at.timestamp_micros()),
            Self::Assessment(name_key) => format!("a1:{name_key}"),
        };
        URL_SAFE_NO_PAD.encode(plain)
    }

    fn decode(text: &str) -> Option<Self> {
        let plain = String::from_utf8(URL_SAFE_NO_PAD.decode(text.trim()).ok()?).ok()?;
        if let Some(rest) = plain.strip_prefix("i1:") {
            let (micros, id) = rest.split_once(':')?;
            let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
            return Some(Self::Invitation(at, id.parse().ok()?));
        }
        plain.strip_prefix("a1:").map(|name_key| Self::Assessment(name_key.to_string()))
    }
}

/// The cursor of the page after `items` (fetched with one more than `limit`): the last kept
/// item's key when there was one more, else `None` (the end).
pub fn next_cursor<T>(items: &mut Vec<T>, limit: i64, key: impl Fn(&T) -> Cursor) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().map(|last| key(last).encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<&str>, cursor: Option<&str>) -> PageQuery {
        PageQuery { limit: limit.map(str::to_string), cursor: cursor.map(str::to_string) }
    }

    #[test]
    fn cursors_round_trip() {
        let at = DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap();
        for cursor in [Cursor::Invitation(at, Uuid::new_v4()), Cursor::Assessment("backend: é ü".into())] {
            let page = query(None, Some(&cursor.encode())).parse().unwrap();
            assert_eq!(page.after, Some(cursor));
            assert_eq!(page.limit, DEFAULT_LIMIT);
        }
    }

    #[test]
    fn bad_limits_and_cursors_are_refused_with_the_field() {
        for limit in ["0", "201", "-1", "ten", "1.5", ""] {
            match query(Some(limit), None).parse() {
                Err(AppError::Invalid { field, .. }) => assert_eq!(field, "limit"),
                _ => panic!("limit {limit:?} accepted"),
            }
        }
        for cursor in ["%%%", "bm9wZQ", &URL_SAFE_NO_PAD.encode("i1:x:y")] {
            match query(None, Some(cursor)).parse() {
                Err(AppError::Invalid { field, .. }) => assert_eq!(field, "cursor"),
                _ => panic!("cursor {cursor:?} accepted"),
            }
        }
        assert_eq!(query(Some("200"), Some("")).parse().unwrap().limit, 200);
    }

    #[test]
    fn the_next_cursor_is_the_last_kept_item() {
        let mut items = vec!["a", "b", "c"];
        let next = next_cursor(&mut items, 2, |s| Cursor::Assessment(s.to_string()));
        assert_eq!(items, ["a", "b"]);
        assert_eq!(next, Some(Cursor::Assessment("b".into()).encode()));
        assert_eq!(next_cursor(&mut items, 2, |s| Cursor::Assessment(s.to_string())), None);
    }
}
