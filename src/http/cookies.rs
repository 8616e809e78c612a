//! Reading and writing the two cookies Fulcrum uses (session and CSRF).

use axum::http::{HeaderMap, HeaderValue, header};

pub const SESSION: &str = "fulcrum_session";
pub const CSRF: &str = "fulcrum_csrf";

/// The value of cookie `name` in the request, if present.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly always, Secure when the site is served over https.
pub fn set(name: &str, value: &str, max_age_secs: i64, same_site: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite={same_site}{secure}");
    HeaderValue::from_str(&text).expect("cookie values are URL-safe base64")
}

pub fn clear(name: &str, secure: bool) -> HeaderValue {
    set(name, "", 0, "Lax", secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; fulcrum_session=abc; b=2"));
        assert_eq!(get(&headers, SESSION), Some("abc"));
        assert_eq!(get(&headers, CSRF), None);
    }
}
