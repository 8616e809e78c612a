//! A browser stand-in: keeps cookies, does not follow redirects (tests look at them),
//! submits forms with the CSRF token a real page would carry, and reads pages with CSS
//! selectors.

use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use scraper::{Html, Selector};

pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    jar: Arc<Jar>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self::with_builder(base, reqwest::Client::builder())
    }

    /// A browser on another machine: its connections come from `address`, another loopback
    /// address such as 127.0.0.2, so the server sees a different client.
    pub fn from_address(base: &str, address: &str) -> Self {
        Self::with_builder(base, reqwest::Client::builder().local_address(address.parse::<std::net::IpAddr>().unwrap()))
    }

    fn with_builder(base: &str, builder: reqwest::ClientBuilder) -> Self {
        let jar = Arc::new(Jar::default());
        let client = builder.cookie_provider(jar.clone()).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { base: base.to_string(), client, jar }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.base) }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    pub async fn get(&self, path: &str) -> Page {
        Page::from(self.client.get(self.url(path)).send().await.unwrap()).await
    }

    /// Follows redirects from `path` until a page that is not a redirect.
    pub async fn follow(&self, path: &str) -> Page {
        let mut page = self.get(path).await;
        for _ in 0..10 {
            match (&page.location, page.status) {
                (Some(location), 300..=399) => page = self.get(&location.clone()).await,
                _ => break,
            }
        }
        page
    }

    /// The CSRF token a page of this site would have put in its forms.
    pub async fn csrf(&self) -> String {
        if let Some(token) = self.cookie("fulcrum_csrf") {
            return token;
        }
        self.get("/login").await;
        self.cookie("fulcrum_csrf").expect("the site sets a CSRF cookie")
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_raw_form(path, &all).await
    }

    /// Posts exactly `fields`, with no CSRF token added.
    pub async fn post_raw_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        Page::from(self.client.post(self.url(path)).form(fields).send().await.unwrap()).await
    }

    /// A download's bytes (a 200 is required).
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.bytes().await.unwrap().to_vec()
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.post_form("/login", &[("email", email), ("password", password)]).await
    }
}

impl Page {
    async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers.get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = response.text().await.unwrap();
        Self { status, location, headers, body }
    }

    /// The text of every element matching `css`, trimmed.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let html = Html::parse_document(&self.body);
        let selector = Selector::parse(css).unwrap_or_else(|e| panic!("bad selector {css}: {e:?}"));
        html.select(&selector)
            .map(|e| e.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    pub fn text(&self, css: &str) -> String {
        self.texts(css).into_iter().next().unwrap_or_else(|| panic!("no element matches {css} in:\n{}", self.body))
    }

    pub fn exists(&self, css: &str) -> bool {
        !self.texts(css).is_empty()
    }

    pub fn attr(&self, css: &str, attribute: &str) -> Option<String> {
        let html = Html::parse_document(&self.body);
        let selector = Selector::parse(css).unwrap();
        html.select(&selector).next().and_then(|e| e.value().attr(attribute)).map(str::to_string)
    }
}
