//! Fulcrum's feedback form template in each Lever account ("{brand} Assessment Result"):
//! created once, found again by name if Fulcrum lost track of it, its field ids read back
//! (they differ between templates) and kept per account.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Api, LeverError};
use crate::app::AppState;

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

/// The account's template, creating it in Lever the first time. An advisory lock per
/// account keeps two workers from creating it twice; it is held across the Lever calls
/// on purpose, once per account lifetime.
pub async fn template(state: &AppState, api: &mut Api<'_>) -> Result<Template, LeverError> {
    let db = |e: sqlx::Error| LeverError::Unavailable(format!("database: {e}"));
    let mut tx = state.db.begin().await.map_err(db)?;
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('feedback-template:' || $1))", api.account_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let cached =
        sqlx::query_scalar!("SELECT feedback_template FROM lever_accounts WHERE account_id = $1", api.account_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .flatten()
            .and_then(|t| serde_json::from_value::<Template>(t).ok());
    if let Some(template) = cached {
        return Ok(template);
    }
    let name = title(&state.settings.brand);
    let existing = api.feedback_templates().await?;
    let template = match existing.iter().filter(|t| t["text"] == name.as_str()).find_map(read) {
        Some(template) => template,
        None => {
            let created = api.create_feedback_template(&definition(&state.settings.brand)).await?;
            read(&created)
                .ok_or_else(|| LeverError::Malformed("the created feedback template lacks its fields".into()))?
        }
    };
    sqlx::query!(
        "INSERT INTO lever_accounts (account_id, feedback_template) VALUES ($1, $2)
         ON CONFLICT (account_id) DO UPDATE SET feedback_template = EXCLUDED.feedback_template",
        api.account_id,
        serde_json::to_value(&template).expect("template serializes"),
    )
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(template)
}

/// Forgets the cached template (Lever said it no longer exists).
pub async fn forget(state: &AppState, account_id: &str) -> sqlx::Result<()> {
    sqlx::query!("UPDATE lever_accounts SET feedback_template = NULL WHERE account_id = $1", account_id)
        .execute(&state.db)
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
