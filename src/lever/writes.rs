//! Notes, feedback forms and files, written to Lever exactly once.
//!
//! None is idempotent in Lever: sending one twice makes two. So each write is recorded
//! before it is sent ('sending') and after Lever confirms it ('done'). A retry that finds
//! 'sending' cannot know whether Lever applied it (the worker may have died after Lever
//! answered, or Lever timed out after writing), so it reads the opportunity's notes,
//! feedback or files back from Lever and looks for the write's marker (for a file, its
//! name: files carry nothing else of Fulcrum's) before writing again. An
//! answer that proves the write did not apply (429, 4xx) clears the record.
//!
//! An uncertain answer is settled at once, a few times over, before the job gives up for
//! now: read back, and send again only if the write is not there.

use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use super::{Api, Lever, LeverError};
use crate::backoff::backoff;

/// Rounds of send → uncertain → read back within one call of [`once`].
const ROUNDS: i32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Note,
    Feedback,
    File,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Note => "note",
            Self::Feedback => "feedback",
            Self::File => "file",
        }
    }
}

/// The marker a note carries so Fulcrum finds its own note when it reads the notes back:
/// `{brand} ref {reference}/{what}`, `reference` naming the invitation or the cause.
pub fn marker(brand: &str, reference: impl std::fmt::Display, what: &str) -> String {
    format!("{brand} ref {reference}/{what}")
}

/// One write: its unique key, where it goes, and the marker text it carries.
pub struct Write<'a> {
    pub key: &'a str,
    pub org_id: Uuid,
    pub opportunity_id: &'a str,
    pub marker: &'a str,
}

/// What a write sends. Its text must contain the write's marker.
pub enum Payload<'a> {
    Note {
        text: &'a str,
        score: Option<u8>,
    },
    Feedback {
        perform_as: &'a str,
        form: &'a Value,
    },
    /// A file whose name is the write's marker.
    File {
        perform_as: &'a str,
        content_type: &'a str,
        bytes: &'a [u8],
    },
}

impl Payload<'_> {
    fn kind(&self) -> Kind {
        match self {
            Self::Note { .. } => Kind::Note,
            Self::Feedback { .. } => Kind::Feedback,
            Self::File { .. } => Kind::File,
        }
    }
}

/// Sends `payload` as `write` unless it already happened, exactly once. Errors are Lever's
/// answer to the last attempt; the write is then recorded as sent, not sent, or unknown
/// (read back by the next call).
pub async fn once(lever: &Lever, api: &mut Api<'_>, write: &Write<'_>, payload: Payload<'_>) -> Result<(), LeverError> {
    let kind = payload.kind();
    for round in 1..=ROUNDS {
        if !prepare(lever, api, write, kind).await? {
            return Ok(());
        }
        let answer = match &payload {
            Payload::Note { text, score } => api.add_note(write.opportunity_id, text, *score, None).await,
            Payload::Feedback { perform_as, form } => {
                let answer = api.add_feedback(write.opportunity_id, perform_as, form).await;
                answer.map(|v| v["id"].as_str().map(str::to_string))
            }
            Payload::File { perform_as, content_type, bytes } => {
                api.upload_file(write.opportunity_id, perform_as, write.marker, content_type, bytes).await
            }
        };
        match record(lever, write, answer).await {
            Err(LeverError::Uncertain(why)) if round < ROUNDS => {
                tracing::info!(key = write.key, why = %why, "a Lever write is unconfirmed; reading back");
                tokio::time::sleep(backoff(round, Duration::from_millis(300), Duration::from_secs(3))).await;
            }
            other => return other,
        }
    }
    unreachable!("the last round returns")
}

/// Whether `write` still has to be sent: false when it is done, or when an unconfirmed
/// earlier attempt turns out (by reading back) to have applied. When true, the write is
/// now recorded as 'sending'; send it and pass the answer to [`record`].
async fn prepare(lever: &Lever, api: &mut Api<'_>, write: &Write<'_>, kind: Kind) -> Result<bool, LeverError> {
    let recorded = sqlx::query!("SELECT state, kind FROM lever_writes WHERE key = $1", write.key)
        .fetch_optional(&lever.db)
        .await
        .map_err(LeverError::database)?;
    match recorded {
        Some(r) if r.state == "done" => return Ok(false),
        Some(r) => {
            let kind = match r.kind.as_str() {
                "feedback" => Kind::Feedback,
                "file" => Kind::File,
                _ => Kind::Note,
            };
            if let Some(lever_id) = find_marker(api, kind, write.opportunity_id, write.marker).await? {
                tracing::info!(key = write.key, "an unconfirmed Lever write had applied; not writing it again");
                mark_done(lever, write.key, lever_id.as_deref()).await?;
                return Ok(false);
            }
        }
        None => {}
    }
    sqlx::query!(
        "INSERT INTO lever_writes (key, org_id, opportunity_id, kind, marker, state, attempts)
         VALUES ($1, $2, $3, $4, $5, 'sending', 1)
         ON CONFLICT (key) DO UPDATE SET state = 'sending', kind = EXCLUDED.kind, attempts = lever_writes.attempts + 1",
        write.key,
        write.org_id,
        write.opportunity_id,
        kind.as_str(),
        write.marker,
    )
    .execute(&lever.db)
    .await
    .map_err(LeverError::database)?;
    Ok(true)
}

/// Records Lever's answer to a write [`prepare`] allowed, and passes errors on.
async fn record(
    lever: &Lever,
    write: &Write<'_>,
    answer: Result<Option<String>, LeverError>,
) -> Result<(), LeverError> {
    match answer {
        Ok(lever_id) => mark_done(lever, write.key, lever_id.as_deref()).await,
        // It may have applied: leave 'sending' so the retry reads back first.
        Err(e @ LeverError::Uncertain(_)) => Err(e),
        // Certainly not applied: the retry may write straight away.
        Err(e) => {
            sqlx::query!("DELETE FROM lever_writes WHERE key = $1 AND state = 'sending'", write.key)
                .execute(&lever.db)
                .await
                .map_err(LeverError::database)?;
            Err(e)
        }
    }
}

async fn mark_done(lever: &Lever, key: &str, lever_id: Option<&str>) -> Result<(), LeverError> {
    sqlx::query!("UPDATE lever_writes SET state = 'done', lever_id = $2 WHERE key = $1", key, lever_id)
        .execute(&lever.db)
        .await
        .map_err(LeverError::database)?;
    Ok(())
}

/// Looks through the opportunity's notes or feedback for `marker`. `Some(id)` if found.
async fn find_marker(
    api: &mut Api<'_>,
    kind: Kind,
    opportunity_id: &str,
    marker: &str,
) -> Result<Option<Option<String>>, LeverError> {
    let items = match kind {
        Kind::Note => api.notes(opportunity_id).await?,
        Kind::Feedback => api.feedback(opportunity_id).await?,
        Kind::File => {
            let files = api.files(opportunity_id).await?;
            let file = files.iter().find(|f| f["name"].as_str() == Some(marker));
            return Ok(file.map(|f| f["id"].as_str().map(str::to_string)));
        }
    };
    Ok(items.iter().find(|item| contains(item, marker)).map(|item| item["id"].as_str().map(str::to_string)))
}

/// True when any string inside `value` contains `marker`.
fn contains(value: &Value, marker: &str) -> bool {
    match value {
        Value::String(s) => s.contains(marker),
        Value::Array(items) => items.iter().any(|v| contains(v, marker)),
        Value::Object(map) => map.values().any(|v| contains(v, marker)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::contains;
    use serde_json::json;

    #[test]
    fn finds_markers_anywhere_in_levers_shapes() {
        let note = json!({"id": "n1", "fields": [{"type": "text", "value": "Invited.\nFulcrum ref inv-1/invite"}]});
        assert!(contains(&note, "Fulcrum ref inv-1/invite"));
        assert!(!contains(&note, "Fulcrum ref inv-2/invite"));
    }
}
