//! Holds the API to `openapi.json`: every answer a test receives through `ApiClient` (or
//! [`check`]) must be one the document lists for that method, path and status, and its body
//! must match the schema given there. A route, a status or a field that drifts from the
//! document fails whichever test meets it.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
};

use reqwest::{Method, header::HeaderMap};
use serde_json::{Value, json};

/// The document as served (`/api/v1/openapi.json` serves this file).
pub static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../../src/http/api/openapi.json")).expect("openapi.json is JSON")
});

static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = LazyLock::new(Mutex::default);

/// The methods a path item of the document lists, upper case.
pub fn documented_methods(item: &Value) -> Vec<String> {
    let mut methods: Vec<String> = item
        .as_object()
        .map(|o| o.keys().filter(|k| *k != "parameters").map(|k| k.to_uppercase()).collect())
        .unwrap_or_default();
    methods.sort();
    methods
}

/// The document's path template matching `path` (relative to `/api/v1`, without query).
pub fn template_for(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    DOCUMENT["paths"].as_object()?.keys().map(String::as_str).find(|template| {
        let parts: Vec<&str> = template.split('/').collect();
        parts.len() == segments.len()
            && parts.iter().zip(&segments).all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
    })
}

/// Checks one answer: `path` is relative to `/api/v1` and may carry a query string.
pub fn check(method: &Method, path: &str, status: u16, headers: &HeaderMap, body: &Value) {
    let path = path.split('?').next().unwrap_or_default();
    let what = format!("{method} /api/v1{path} answered {status} {body}");
    let Some(template) = template_for(path) else {
        assert_eq!(status, 404, "{what}: no such path in openapi.json, so only a 404 fits");
        return validate("#/components/schemas/Error", body, &what);
    };
    let item = &DOCUMENT["paths"][template];
    let operation = &item[method.as_str().to_lowercase()];
    if operation.is_null() {
        assert_eq!(status, 405, "{what}: openapi.json lists no {method} for {template}, so only a 405 fits");
        let mut allowed: Vec<String> = headers
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_uppercase())
            .filter(|m| !m.is_empty() && m != "HEAD")
            .collect();
        allowed.sort();
        assert_eq!(allowed, documented_methods(item), "{what}: its Allow header against openapi.json");
        return validate_response(&DOCUMENT["components"]["responses"]["MethodNotAllowed"], body, &what);
    }
    let response = &operation["responses"][status.to_string()];
    assert!(!response.is_null(), "{what}: openapi.json does not list {status} for {method} {template}");
    validate_response(response, body, &what);
}

fn validate_response(response: &Value, body: &Value, what: &str) {
    let response = match response["$ref"].as_str() {
        Some(pointer) => resolve(pointer),
        None => response,
    };
    let schema = &response["content"]["application/json"]["schema"];
    assert!(!schema.is_null(), "{what}: openapi.json gives this answer no JSON schema");
    match schema["$ref"].as_str() {
        Some(pointer) => validate(pointer, body, what),
        None => validate_with(&format!("{what} inline"), schema, body, what),
    }
}

fn resolve(pointer: &str) -> &'static Value {
    let found = DOCUMENT.pointer(pointer.trim_start_matches('#'));
    found.unwrap_or_else(|| panic!("{pointer} is not in openapi.json"))
}

fn validate(pointer: &str, body: &Value, what: &str) {
    validate_with(pointer, &json!({ "$ref": pointer }), body, what);
}

/// Validates against `schema`, whose `$ref`s point into the document's components.
fn validate_with(key: &str, schema: &Value, body: &Value, what: &str) {
    let validator = {
        let mut cache = VALIDATORS.lock().unwrap();
        cache
            .entry(key.to_string())
            .or_insert_with(|| {
                let root = json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "components": DOCUMENT["components"],
                    "allOf": [schema],
                });
                let built = jsonschema::draft202012::options().should_validate_formats(true).build(&root);
                Arc::new(built.unwrap_or_else(|e| panic!("the schema for {what} does not compile: {e}")))
            })
            .clone()
    };
    let errors: Vec<String> = validator.iter_errors(body).map(|e| format!("at `{}`: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what}: does not match openapi.json:\n  {}", errors.join("\n  "));
}
