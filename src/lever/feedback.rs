//! Fulcrum's feedback form template in each Lever account ("{brand} Assessment Result"):
//! created once, found again by name if Fulcrum lost track of it, its field ids read back
//! (they differ between templates) and kept per account.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Api, Lever, LeverError};

/// The template's field ids, by what each holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Template {
    pub id: String,
    pub rating: String,
    pub score: String,
    pub result: String,
    pub reason: String,
    pub report: String,
}

const RATING: &str = "Overall rating";
const SCORE: &str = "Score";
const RESULT: &str = "Result";
const REASON: &str = "Failure reason";
const REPORT: &str = "Report";

pub fn title(brand: &str) -> String {
    format!("{brand} Assessment Result")
}

fn definition(brand: &str) -> Value {
    json!({
        "text": title(brand),
        "instructions": format!("Written by {brand} when a candidate's assessment result is in. Do not edit."),
        "fields": [
            { "type": "score-system", "text": RATING, "description": "Derived from the assessment result", "required": true },
            { "type": "text", "text": SCORE, "description": "Percentage of the assessment answered correctly (0-100)", "required": true },
            { "type": "dropdown", "text": RESULT, "required": true,
              "options": [{ "text": "Passed" }, { "text": "Failed" }, { "text": "Expired" }] },
            { "type": "textarea", "text": REASON, "description": "Why the candidate did not pass", "required": false },
            { "type": "text", "text": REPORT, "description": format!("The full report in {brand}"), "required": false }
        ]
    })
}

/// Field ids of a template as Lever returns it, if it has all of Fulcrum's fields.
fn read(template: &Value) -> Option<Template> {
    let fields = template["fields"].as_array()?;
    let id_of = |text: &str, kind: Option<&str>| {
        fields
            .iter()
            .find(|f| f["text"] == text || kind.is_some_and(|k| f["type"] == k))
            .and_then(|f| f["id"].as_str())
            .map(str::to_string)
    };
    Some(Template {
        id: template["id"].as_str()?.to_string(),
        rating: id_of(RATING, Some("score-system"))?,
        score: id_of(SCORE, None)?,
        result: id_of(RESULT, None)?,
        reason: id_of(REASON, None)?,
        report: id_of(REPORT, None)?,
    })
}

/// What Fulcrum knows about the account's template.
#[derive(Debug)]
pub enum Known {
    Ready(Template),
    /// Lever refused it (no feedback scope, for instance): results go into notes.
    Unavailable(String),
    /// Not looked for yet: the `EnsureFeedbackTemplate` job finds or creates it.
    Unknown,
}

pub async fn known(db: &sqlx::PgPool, account_id: &str) -> sqlx::Result<Known> {
    let stored = sqlx::query_scalar!("SELECT feedback_template FROM lever_accounts WHERE account_id = $1", account_id)
        .fetch_optional(db)
        .await?
        .flatten();
    Ok(match stored {
        Some(value) => match value["unavailable"].as_str() {
            Some(why) => Known::Unavailable(why.to_string()),
            None => serde_json::from_value(value).map_or(Known::Unknown, Known::Ready),
        },
        None => Known::Unknown,
    })
}

/// Finds Fulcrum's template in the account, or creates it, and remembers it. Runs in one
/// job per account at a time (a unique key), so the template is made once; holding no
/// lock while Lever is called.
pub async fn ensure(lever: &Lever, api: &mut Api<'_>) -> Result<Known, LeverError> {
    let name = title(&lever.brand);
    let found = match api.feedback_templates().await {
        Ok(existing) => existing.iter().filter(|t| t["text"] == name.as_str()).find_map(read),
        Err(LeverError::Forbidden(why)) => return remember(lever, &api.account_id, Known::Unavailable(why)).await,
        Err(e) => return Err(e),
    };
    let known = match found {
        Some(template) => Known::Ready(template),
        None => match api.create_feedback_template(&definition(&lever.brand)).await {
            Ok(created) => Known::Ready(
                read(&created).ok_or_else(|| LeverError::Malformed("the created template lacks its fields".into()))?,
            ),
            Err(LeverError::Forbidden(why)) => Known::Unavailable(why),
            Err(e) => return Err(e),
        },
    };
    remember(lever, &api.account_id, known).await
}

async fn remember(lever: &Lever, account_id: &str, known: Known) -> Result<Known, LeverError> {
    let value = match &known {
        Known::Ready(template) => serde_json::to_value(template).expect("templates serialize"),
        Known::Unavailable(why) => serde_json::json!({ "unavailable": why }),
        Known::Unknown => serde_json::Value::Null,
    };
    sqlx::query!(
        "INSERT INTO lever_accounts (account_id, feedback_template) VALUES ($1, $2)
         ON CONFLICT (account_id) DO UPDATE SET feedback_template = EXCLUDED.feedback_template",
        account_id,
        value,
    )
    .execute(&lever.db)
    .await
    .map_err(|e| LeverError::Unavailable(format!("database: {e}")))?;
    Ok(known)
}

/// Forgets what is known of the template: Lever said it no longer exists, or a
/// reconnect may have granted what was refused.
pub async fn forget(db: &sqlx::PgPool, account_id: &str) -> sqlx::Result<()> {
    sqlx::query!("UPDATE lever_accounts SET feedback_template = NULL WHERE account_id = $1", account_id)
        .execute(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_field_ids_of_its_own_template() {
        let mut t = definition("Fulcrum");
        t["id"] = json!("tpl-1");
        for (i, field) in t["fields"].as_array_mut().unwrap().iter_mut().enumerate() {
            field["id"] = json!(format!("f{i}"));
        }
        let read = read(&t).unwrap();
        assert_eq!((read.id.as_str(), read.rating.as_str(), read.report.as_str()), ("tpl-1", "f0", "f4"));
        assert!(super::read(&json!({"id": "x", "fields": []})).is_none());
    }
}
