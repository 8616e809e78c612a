//! Lever's OAuth 2.0 authorization-code flow, with the `oauth2` crate: the authorize URL,
//! the code exchange and the refresh (client credentials in the form body), and reading
//! the Lever account from the access token's claims.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest, HttpResponse, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
    basic::{BasicClient, BasicErrorResponseType},
};
use serde_json::Value;

use super::{Lever, SCOPES};

/// Tokens from Lever's token endpoint.
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: Duration,
    pub scope: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The code or refresh token is not (or no longer) valid: access was revoked, the
    /// code was used, or a refresh token was lost to rotation.
    #[error("Lever refused the grant: {0}")]
    InvalidGrant(String),
    #[error("Lever's token endpoint is unavailable: {0}")]
    Unavailable(String),
    #[error("Lever's token endpoint refused the request: {0}")]
    Refused(String),
}

/// The URL an admin is sent to when they click Connect.
pub fn authorize_url(lever: &Lever, state: &str) -> anyhow::Result<String> {
    let s = &lever.settings;
    let client = BasicClient::new(ClientId::new(s.client_id.clone()))
        .set_auth_uri(AuthUrl::new(format!("{}/authorize", s.auth_url.trim_end_matches('/')))?)
        .set_redirect_uri(RedirectUrl::new(lever.redirect_uri.clone())?);
    let state = state.to_string();
    let (url, _) = client
        .authorize_url(move || CsrfToken::new(state))
        .add_scopes(SCOPES.iter().map(|s| Scope::new(s.to_string())))
        .add_extra_param("audience", s.audience.clone())
        .add_extra_param("prompt", "consent")
        .url();
    Ok(url.to_string())
}

pub async fn exchange_code(lever: &Lever, code: &str) -> Result<Tokens, OAuthError> {
    let client = token_client(lever)?;
    let request = client.exchange_code(AuthorizationCode::new(code.to_string()));
    let response = request.request_async(&http(lever)).await.map_err(classify)?;
    into_tokens(response, None)
}

pub async fn refresh(lever: &Lever, refresh_token: &str) -> Result<Tokens, OAuthError> {
    let client = token_client(lever)?;
    let token = RefreshToken::new(refresh_token.to_string());
    let response = client.exchange_refresh_token(&token).request_async(&http(lever)).await.map_err(classify)?;
    // Lever rotates refresh tokens; should one ever come back without, the old one stays.
    into_tokens(response, Some(refresh_token))
}

fn token_client(
    lever: &Lever,
) -> Result<
    BasicClient<
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    OAuthError,
> {
    let s = &lever.settings;
    let token_url = TokenUrl::new(format!("{}/oauth/token", s.auth_url.trim_end_matches('/')))
        .map_err(|e| OAuthError::Refused(format!("LEVER_AUTH_URL: {e}")))?;
    let redirect = RedirectUrl::new(lever.redirect_uri.clone()).map_err(|e| OAuthError::Refused(e.to_string()))?;
    Ok(BasicClient::new(ClientId::new(s.client_id.clone()))
        .set_client_secret(ClientSecret::new(s.client_secret.expose().to_string()))
        .set_auth_type(AuthType::RequestBody)
        .set_redirect_uri(redirect)
        .set_token_uri(token_url))
}

/// The oauth2 crate's HTTP hook, answered with our own reqwest client (the crate's
/// built-in one is for an older reqwest).
fn http(
    lever: &Lever,
) -> impl Fn(HttpRequest) -> std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send>> {
    let client = lever.http.clone();
    move |request| Box::pin(send(client.clone(), request))
}

async fn send(client: reqwest::Client, request: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
    let request = reqwest::Request::try_from(request)?;
    let response = client.execute(request).await?;
    let mut builder = oauth2::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    Ok(builder.body(body).expect("status and headers came from a valid response"))
}

fn classify<RE: std::error::Error + 'static>(
    error: RequestTokenError<RE, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
) -> OAuthError {
    match error {
        RequestTokenError::ServerResponse(response) => {
            let detail = response.error_description().cloned().unwrap_or_default();
            match response.error() {
                BasicErrorResponseType::InvalidGrant => OAuthError::InvalidGrant(detail),
                other => OAuthError::Refused(format!("{}: {detail}", other.as_ref())),
            }
        }
        RequestTokenError::Request(e) => OAuthError::Unavailable(e.to_string()),
        RequestTokenError::Parse(e, _) => OAuthError::Unavailable(format!("unreadable answer: {e}")),
        RequestTokenError::Other(e) => OAuthError::Unavailable(e),
    }
}

fn into_tokens(response: oauth2::basic::BasicTokenResponse, old_refresh: Option<&str>) -> Result<Tokens, OAuthError> {
    let refresh_token = response
        .refresh_token()
        .map(|t| t.secret().clone())
        .or_else(|| old_refresh.map(str::to_string))
        .ok_or_else(|| OAuthError::Refused("Lever sent no refresh token (is offline_access granted?)".into()))?;
    let scope =
        response.scopes().map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")).unwrap_or_default();
    Ok(Tokens {
        access_token: response.access_token().secret().clone(),
        refresh_token,
        expires_in: response.expires_in().unwrap_or(Duration::from_secs(3600)),
        scope,
    })
}

/// What the access token says about who approved the connection.
#[derive(Debug, PartialEq, Eq)]
pub struct Claims {
    pub account_id: String,
    pub user_id: Option<String>,
}

/// Reads the claims of Lever's JWT access token. The token came straight from Lever's
/// token endpoint over TLS, so its payload is read, not verified.
pub fn claims(access_token: &str) -> Option<Claims> {
    let payload = access_token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let json: Value = serde_json::from_slice(&bytes).ok()?;
    let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_string);
    Some(Claims {
        account_id: text("https://oauth.lever.co/accountId")?,
        user_id: text("https://oauth.lever.co/userId"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_levers_claims() {
        let payload = URL_SAFE_NO_PAD.encode(
            r#"{"https://oauth.lever.co/accountId":"acct-1","https://oauth.lever.co/userId":"user-9","exp":1}"#,
        );
        let token = format!("eyJhbGciOiJSUzI1NiJ9.{payload}.sig");
        assert_eq!(claims(&token), Some(Claims { account_id: "acct-1".into(), user_id: Some("user-9".into()) }));
        assert_eq!(claims("not-a-jwt"), None);
    }
}
