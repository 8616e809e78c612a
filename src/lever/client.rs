//! Calls to Lever's API for one organization: a fresh token (refreshed ahead of expiry and
//! after a 401), a slot from the account's budget before every request, in-call retries
//! for answers that say "not now" (429, and 503 to reads), and typed errors that say
//! whether a write might have applied.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::{
    Lever, LeverError, connection,
    ratelimit::{self, Budget},
    types,
};
use crate::backoff::backoff;

/// Attempts within one call for answers that certainly did not apply (429, 503).
const TRIES: u32 = 4;

/// What a request carries.
#[derive(Clone, Copy)]
pub(super) enum Body<'b> {
    Json(&'b Value),
    /// A `multipart/form-data` upload with the one field `file` (Lever's files API).
    File {
        name: &'b str,
        content_type: &'b str,
        bytes: &'b [u8],
    },
}

pub struct Api<'a> {
    lever: &'a Lever,
    pub org_id: Uuid,
    pub account_id: String,
    token: String,
}

impl<'a> Api<'a> {
    /// The API for `org_id`'s Lever account; `NeedsReconnect` when it has none.
    pub async fn for_org(lever: &'a Lever, org_id: Uuid) -> Result<Self, LeverError> {
        let token = connection::access_token(lever, org_id, None).await?;
        Ok(Self { lever, org_id, account_id: token.account_id, token: token.access_token })
    }

    fn budget(&self) -> Budget {
        let s = &self.lever.settings;
        Budget::new(s.requests_per_second, s.burst)
    }

    /// Sends one request, retrying in place while Lever says "not now".
    pub(super) async fn send(
        &mut self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Body<'_>>,
    ) -> Result<Value, LeverError> {
        let write = method != Method::GET;
        let endpoint = endpoint(&method, path);
        let mut url = format!("{}{}", self.lever.settings.api_url.trim_end_matches('/'), path);
        // After a redirect the Location carries the query already.
        let mut query = query;
        let (mut refreshed, mut tries, mut redirects) = (false, 0, 0);
        loop {
            tries += 1;
            let slot = ratelimit::acquire(&self.lever.db, &self.account_id, self.budget())
                .await
                .map_err(|e| LeverError::Unavailable(format!("rate limit bookkeeping: {e}")))?;
            if let ratelimit::Slot::Later(after) = slot {
                // The account's budget is booked well ahead: free the worker for others.
                return Err(LeverError::RateLimited(after));
            }
            let mut request = self.lever.http.request(method.clone(), &url).bearer_auth(&self.token).query(query);
            match body {
                Some(Body::Json(body)) => request = request.json(body),
                Some(Body::File { name, content_type, bytes }) => {
                    // Built afresh for each try: a multipart body is consumed by sending it.
                    let part = reqwest::multipart::Part::bytes(bytes.to_vec())
                        .file_name(name.to_string())
                        .mime_str(content_type)
                        .map_err(|e| LeverError::Malformed(format!("file type {content_type}: {e}")))?;
                    request = request.multipart(reqwest::multipart::Form::new().part("file", part));
                }
                None => {}
            }
            let sent = Instant::now();
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) => {
                    let status = if e.is_timeout() { "timeout" } else { "error" };
                    self.lever.metrics.lever_call(endpoint.clone(), status, sent.elapsed());
                    let connect = e.is_connect();
                    let what = describe(e);
                    // A write may have reached Lever before the connection failed.
                    let may_have_applied = write && !connect;
                    if may_have_applied {
                        return Err(LeverError::Uncertain(what));
                    }
                    if tries >= TRIES {
                        return Err(LeverError::Unavailable(what));
                    }
                    tokio::time::sleep(backoff(tries as i32, Duration::from_millis(200), Duration::from_secs(4))).await;
                    continue;
                }
            };
            let status = response.status();
            self.lever.metrics.lever_call(endpoint.clone(), status.as_str().to_string(), sent.elapsed());
            if status.is_redirection() {
                // Lever routes some accounts (EU) to another host. Followed here rather than
                // by the HTTP client, which drops the Authorization header across hosts;
                // the token only ever goes to the configured API host or Lever's own.
                let next = response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok());
                let next = next.and_then(|l| reqwest::Url::parse(&url).ok()?.join(l).ok());
                match next.filter(|n| self.may_send_token_to(n)) {
                    Some(next) if redirects < 3 => {
                        redirects += 1;
                        tries -= 1;
                        url = next.to_string();
                        query = &[];
                        continue;
                    }
                    _ => {
                        return Err(LeverError::Rejected {
                            status: status.as_u16(),
                            message: format!("{path} redirected somewhere Fulcrum does not send Lever tokens"),
                        });
                    }
                }
            }
            let retry_after = retry_after(&response);
            let text = response.text().await.unwrap_or_default();
            if status.is_success() {
                if text.trim().is_empty() {
                    return Ok(Value::Null);
                }
                return serde_json::from_str(&text).map_err(|e| LeverError::Malformed(format!("{path}: {e}")));
            }
            let message = error_message(&text);
            match status {
                StatusCode::UNAUTHORIZED if !refreshed => {
                    refreshed = true;
                    let stale = std::mem::take(&mut self.token);
                    self.token = connection::access_token(self.lever, self.org_id, Some(&stale)).await?.access_token;
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(LeverError::Unavailable(format!("Lever refused a freshly refreshed token: {message}")));
                }
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                    let pause = retry_after
                        .unwrap_or_else(|| backoff(tries as i32, Duration::from_millis(500), Duration::from_secs(8)));
                    ratelimit::back_off(&self.lever.db, &self.account_id, pause)
                        .await
                        .map_err(|e| LeverError::Unavailable(format!("rate limit bookkeeping: {e}")))?;
                    // A 429 is the limiter's refusal: nothing applied. A 503 is not known to
                    // say so (a proxy may answer it after the write went through), so a write
                    // it answers is read back before it is sent again.
                    if write && status == StatusCode::SERVICE_UNAVAILABLE {
                        return Err(LeverError::Uncertain(format!("503 from {path}: {message}")));
                    }
                    if tries >= TRIES {
                        return Err(if status == StatusCode::TOO_MANY_REQUESTS {
                            LeverError::RateLimited(pause)
                        } else {
                            LeverError::Unavailable(format!("503 from {path}"))
                        });
                    }
                }
                s if s.is_server_error() => {
                    if write {
                        return Err(LeverError::Uncertain(format!("{s} from {path}: {message}")));
                    }
                    if tries >= TRIES {
                        return Err(LeverError::Unavailable(format!("{s} from {path}: {message}")));
                    }
                    tokio::time::sleep(backoff(tries as i32, Duration::from_millis(200), Duration::from_secs(4))).await;
                }
                StatusCode::FORBIDDEN => return Err(LeverError::Forbidden(message)),
                StatusCode::NOT_FOUND => return Err(LeverError::NotFound(format!("{path}: {message}"))),
                s => return Err(LeverError::Rejected { status: s.as_u16(), message }),
            }
        }
    }

    /// The configured API host, or an https host of Lever's own.
    fn may_send_token_to(&self, url: &reqwest::Url) -> bool {
        let configured = reqwest::Url::parse(&self.lever.settings.api_url).ok();
        let same_host = configured.is_some_and(|c| c.host_str() == url.host_str() && c.port() == url.port());
        let levers =
            url.scheme() == "https" && url.host_str().is_some_and(|h| h == "lever.co" || h.ends_with(".lever.co"));
        same_host || levers
    }

    pub async fn get(&mut self, path: &str, query: &[(&str, &str)]) -> Result<Value, LeverError> {
        self.send(Method::GET, path, query, None).await
    }

    pub(super) async fn get_as<T: DeserializeOwned>(
        &mut self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, LeverError> {
        let body = self.get(path, query).await?;
        serde_json::from_value(types::unwrap_data(body)).map_err(|e| LeverError::Malformed(format!("{path}: {e}")))
    }

    /// Every page of a list endpoint.
    pub async fn list(&mut self, path: &str, query: &[(&str, &str)]) -> Result<Vec<Value>, LeverError> {
        let mut items = Vec::new();
        let mut offset: Option<String> = None;
        for _ in 0..100 {
            let mut q: Vec<(&str, &str)> = query.to_vec();
            q.push(("limit", "100"));
            if let Some(o) = offset.as_deref() {
                q.push(("offset", o));
            }
            let body = self.get(path, &q).await?;
            if let Some(data) = body.get("data").and_then(Value::as_array) {
                items.extend(data.iter().cloned());
            } else if let Some(data) = body.as_array() {
                items.extend(data.iter().cloned());
            }
            match (body.get("hasNext").and_then(Value::as_bool), body.get("next").and_then(Value::as_str)) {
                (Some(true), Some(next)) => offset = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(items)
    }
}

/// Path segments that name a Lever resource or action; any other segment is an id.
const RESOURCE_WORDS: &[&str] = &[
    "opportunities",
    "postings",
    "stages",
    "notes",
    "feedback",
    "feedback_templates",
    "webhooks",
    "addTags",
    "removeTags",
    "files",
    "users",
    "tags",
    "archive_reasons",
    "applications",
];

/// The call's name for metrics: the method and the path with every id replaced by `{id}`,
/// so that the label has a handful of values (`POST /opportunities/{id}/notes`).
fn endpoint(method: &Method, path: &str) -> String {
    let pattern: Vec<&str> = path
        .split('/')
        .map(|segment| match segment {
            "" => "",
            s if RESOURCE_WORDS.contains(&s) => s,
            _ => "{id}",
        })
        .collect();
    format!("{method} {}", pattern.join("/"))
}

/// Percent-encodes one path segment (ids come from webhook bodies).
pub(super) fn seg(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(|s| Duration::from_secs(s.min(300)))
}

/// Lever's `{"code", "message"}` error body, or the first part of whatever came.
fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        let message = v.get("message").and_then(Value::as_str);
        let code = v.get("code").and_then(Value::as_str);
        match (code, message) {
            (Some(c), Some(m)) => Some(format!("{c}: {m}")),
            (None, Some(m)) | (Some(m), None) => Some(m.to_string()),
            _ => None,
        }
    });
    message.unwrap_or_else(|| body.chars().take(200).collect())
}

fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out waiting for Lever".into()
    } else if error.is_connect() {
        "could not connect to Lever".into()
    } else {
        // Without the URL: it can carry query parameters.
        error.without_url().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(seg("abc-123_x.y"), "abc-123_x.y");
        assert_eq!(seg("../x?y"), "..%2Fx%3Fy");
    }

    #[test]
    fn endpoints_name_the_path_without_ids() {
        let id = "250d8f03-738a-4bba-a671-8a3d73477145";
        assert_eq!(endpoint(&Method::GET, &format!("/opportunities/{id}")), "GET /opportunities/{id}");
        assert_eq!(
            endpoint(&Method::POST, &format!("/opportunities/{id}/addTags")),
            "POST /opportunities/{id}/addTags"
        );
        assert_eq!(endpoint(&Method::GET, "/stages"), "GET /stages");
        assert_eq!(endpoint(&Method::DELETE, &format!("/webhooks/{}", seg("w 1"))), "DELETE /webhooks/{id}");
    }

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(error_message(r#"{"code":"Forbidden","message":"Missing scope"}"#), "Forbidden: Missing scope");
        assert_eq!(error_message("plain"), "plain");
    }
}
