//! Lever's endpoints that Fulcrum calls, each a typed method on [`Api`]; how a request
//! is sent (token, budget, retries, errors) is `client`'s.

use reqwest::Method;
use serde_json::{Value, json};

use super::{
    LeverError,
    client::{Api, Body, seg},
    types::{self, Opportunity, Posting, Stage},
};

impl Api<'_> {
    pub async fn opportunity(&mut self, id: &str) -> Result<Opportunity, LeverError> {
        self.get_as(&format!("/opportunities/{}", seg(id)), &[("expand", "applications")]).await
    }

    pub async fn posting(&mut self, id: &str) -> Result<Posting, LeverError> {
        self.get_as(&format!("/postings/{}", seg(id)), &[]).await
    }

    pub async fn stages(&mut self) -> Result<Vec<Stage>, LeverError> {
        let items = self.list("/stages", &[]).await?;
        Ok(items.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect())
    }

    pub async fn add_tags(
        &mut self,
        opportunity: &str,
        tags: &[String],
        perform_as: Option<&str>,
    ) -> Result<(), LeverError> {
        self.tags("addTags", opportunity, tags, perform_as).await
    }

    pub async fn remove_tags(
        &mut self,
        opportunity: &str,
        tags: &[String],
        perform_as: Option<&str>,
    ) -> Result<(), LeverError> {
        self.tags("removeTags", opportunity, tags, perform_as).await
    }

    /// Tag changes are idempotent, so an uncertain outcome is simply tried again.
    async fn tags(
        &mut self,
        action: &str,
        opportunity: &str,
        tags: &[String],
        perform_as: Option<&str>,
    ) -> Result<(), LeverError> {
        let path = format!("/opportunities/{}/{action}", seg(opportunity));
        let query: Vec<(&str, &str)> = perform_as.map(|u| ("perform_as", u)).into_iter().collect();
        let body = json!({ "tags": tags });
        let mut uncertain = 0;
        loop {
            match self.send(Method::POST, &path, &query, Some(Body::Json(&body))).await {
                Err(LeverError::Uncertain(_)) if uncertain < 2 => uncertain += 1,
                other => return other.map(|_| ()),
            }
        }
    }

    /// Adds a note; returns Lever's note id when it gives one.
    pub async fn add_note(
        &mut self,
        opportunity: &str,
        value: &str,
        score: Option<u8>,
        perform_as: Option<&str>,
    ) -> Result<Option<String>, LeverError> {
        let path = format!("/opportunities/{}/notes", seg(opportunity));
        let query: Vec<(&str, &str)> = perform_as.map(|u| ("perform_as", u)).into_iter().collect();
        let mut body = json!({ "value": value, "notifyFollowers": false });
        if let Some(score) = score {
            body["score"] = json!(score);
        }
        let answer = types::unwrap_data(self.send(Method::POST, &path, &query, Some(Body::Json(&body))).await?);
        Ok(answer.get("noteId").or_else(|| answer.get("id")).and_then(Value::as_str).map(str::to_string))
    }

    pub async fn notes(&mut self, opportunity: &str) -> Result<Vec<Value>, LeverError> {
        self.list(&format!("/opportunities/{}/notes", seg(opportunity)), &[]).await
    }

    pub async fn feedback_templates(&mut self) -> Result<Vec<Value>, LeverError> {
        self.list("/feedback_templates", &[]).await
    }

    /// Whether the feedback template `id` still exists in Lever.
    pub async fn feedback_template_exists(&mut self, id: &str) -> Result<bool, LeverError> {
        match self.send(Method::GET, &format!("/feedback_templates/{}", seg(id)), &[], None).await {
            Ok(_) => Ok(true),
            Err(LeverError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn create_feedback_template(&mut self, template: &Value) -> Result<Value, LeverError> {
        Ok(types::unwrap_data(self.send(Method::POST, "/feedback_templates", &[], Some(Body::Json(template))).await?))
    }

    pub async fn add_feedback(
        &mut self,
        opportunity: &str,
        perform_as: &str,
        form: &Value,
    ) -> Result<Value, LeverError> {
        let path = format!("/opportunities/{}/feedback", seg(opportunity));
        Ok(types::unwrap_data(
            self.send(Method::POST, &path, &[("perform_as", perform_as)], Some(Body::Json(form))).await?,
        ))
    }

    pub async fn feedback(&mut self, opportunity: &str) -> Result<Vec<Value>, LeverError> {
        self.list(&format!("/opportunities/{}/feedback", seg(opportunity)), &[]).await
    }

    /// Uploads a file to the opportunity as `perform_as` (Lever requires it); returns
    /// Lever's file id when it gives one.
    pub async fn upload_file(
        &mut self,
        opportunity: &str,
        perform_as: &str,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<Option<String>, LeverError> {
        let path = format!("/opportunities/{}/files", seg(opportunity));
        let body = Body::File { name, content_type, bytes };
        let answer =
            types::unwrap_data(self.send(Method::POST, &path, &[("perform_as", perform_as)], Some(body)).await?);
        Ok(answer.get("id").and_then(Value::as_str).map(str::to_string))
    }

    /// The opportunity's files (`{"data": […]}` or, as documented, a bare array).
    pub async fn files(&mut self, opportunity: &str) -> Result<Vec<Value>, LeverError> {
        self.list(&format!("/opportunities/{}/files", seg(opportunity)), &[]).await
    }

    /// Every webhook registered in the account.
    pub async fn webhooks(&mut self) -> Result<Vec<Value>, LeverError> {
        self.list("/webhooks", &[]).await
    }

    /// The account's published postings.
    pub async fn open_postings(&mut self) -> Result<Vec<Value>, LeverError> {
        self.list("/postings", &[("state", "published")]).await
    }

    pub async fn create_webhook(&mut self, url: &str, event: &str) -> Result<Value, LeverError> {
        let mut body = json!({ "url": url, "event": event });
        if super::webhook::takes_conditions(event) {
            body["configuration"] = json!({ "conditions": {} });
        }
        // Documented answers are wrapped in `data` twice; real ones once.
        let hook = types::unwrap_data(self.send(Method::POST, "/webhooks", &[], Some(Body::Json(&body))).await?);
        Ok(if hook.get("id").is_none() { types::unwrap_data(hook) } else { hook })
    }

    pub async fn delete_webhook(&mut self, id: &str) -> Result<(), LeverError> {
        match self.send(Method::DELETE, &format!("/webhooks/{}", seg(id)), &[], None).await {
            Ok(_) | Err(LeverError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
