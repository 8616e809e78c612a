//! `/api/v1/assessments`.

use reqwest::Method;
use serde_json::{Value, json};

use super::{create, is_code, new_assessment, questions_json, stored, stored_count};
use crate::support::spawn_app;

/// `base` with `changes` laid over it (a `null` change removes the field).
fn changed(mut base: Value, changes: Value) -> Value {
    for (key, value) in changes.as_object().unwrap() {
        match value {
            Value::Null => base.as_object_mut().unwrap().remove(key),
            value => base.as_object_mut().unwrap().insert(key.clone(), value.clone()),
        };
    }
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assessments_are_created_read_listed_and_partly_updated() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let api = app.api(&org.api_key);
    let body = json!({"name": "  Backend  Engineer ", "pass_mark": 70, "time_limit_minutes": 45,
                      "instructions": "Good luck.", "questions": questions_json()});
    let (status, created) = api.post("/assessments", body).await;
    assert_eq!(status, 201, "{created}");
    let (id, code) = (created["id"].as_str().unwrap(), created["code"].as_str().unwrap());
    assert!(is_code(code), "{code}");
    assert_eq!(created["name"], "Backend Engineer");
    assert_eq!((created["pass_mark"].as_i64(), created["time_limit_minutes"].as_i64()), (Some(70), Some(45)));
    assert_eq!((created["expires_after_days"].as_i64(), created["active"].as_bool()), (Some(7), Some(true)));
    assert_eq!(created["instructions"], "Good luck.");
    assert_eq!(created["questions"], questions_json(), "the right answers are the admin's own data");
    assert_eq!(created["tags"], json!({"name": "Fulcrum Backend Engineer", "code": code}));
    assert!(created["created_at"].is_string() && created["updated_at"].is_string());

    let (status, read) = api.get(&format!("/assessments/{id}")).await;
    assert_eq!((status, &read), (200, &created));
    let (status, list) = api.get("/assessments").await;
    assert_eq!((status, list), (200, json!({"data": [created], "next_cursor": null})));

    let (status, patched) = api.send(Method::PATCH, &format!("/assessments/{id}"), json!({"pass_mark": 85})).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["pass_mark"], 85);
    for kept in ["name", "code", "time_limit_minutes", "expires_after_days", "active", "instructions", "questions"] {
        assert_eq!(patched[kept], created[kept], "{kept} is kept");
    }

    // A client may send back what it read, edited: the read-only fields unchanged.
    let edited = changed(patched.clone(), json!({"name": "Platform Engineer", "active": false, "questions": []}));
    let (status, renamed) = api.send(Method::PATCH, &format!("/assessments/{id}"), edited).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["tags"], json!({"name": "Fulcrum Platform Engineer", "code": code}));
    assert_eq!((renamed["active"].as_bool(), renamed["questions"].clone()), (Some(false), json!([])));
    assert_eq!(stored(&app, id).await["name"], "Platform Engineer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_fields_are_named_and_nothing_is_stored() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let api = app.api(&org.api_key);
    let cases = [
        (json!({"name": null}), "name", "needs a name"),
        (json!({"name": "x".repeat(121)}), "name", "at most 120"),
        (json!({"pass_mark": null}), "pass_mark", "it is missing"),
        (json!({"pass_mark": 101}), "pass_mark", "0 to 100"),
        (json!({"time_limit_minutes": 0}), "time_limit_minutes", "1 to 1440"),
        (json!({"expires_after_days": 366}), "expires_after_days", "1 to 365"),
        (json!({"instructions": "x".repeat(10_001)}), "instructions", "at most 10000"),
        (json!({"questions": [{"prompt": "Q?", "choices": ["a", "b"], "answer": 2}]}), "questions", "Question 1:"),
        (json!({"questions": [{"prompt": "Q?", "choices": ["a", "A"], "answer": 0}]}), "questions", "the same"),
        (json!({"code": "FC-12345"}), "code", "assigned by Fulcrum"),
        (json!({"id": uuid::Uuid::new_v4()}), "id", "assigned by Fulcrum"),
    ];
    for (change, field, says) in cases {
        let (status, body) =
            api.post("/assessments", changed(new_assessment("Backend Engineer"), change.clone())).await;
        assert_eq!(status, 422, "{change}: {body}");
        assert_eq!(
            (body["error"]["code"].as_str(), body["error"]["field"].as_str()),
            (Some("invalid"), Some(field)),
            "{body}"
        );
        assert!(body["error"]["message"].as_str().unwrap().contains(says), "{change}: {body}");
    }
    assert_eq!(stored_count(&app).await, 0);

    let id = create(&app, &org.api_key, "Backend Engineer").await["id"].as_str().unwrap().to_string();
    let before = stored(&app, &id).await;
    let (status, body) =
        api.send(Method::PATCH, &format!("/assessments/{id}"), json!({"name": "New", "pass_mark": -1})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("pass_mark")), "{body}");
    assert_eq!(stored(&app, &id).await, before, "a refused update changes nothing, not even the valid fields");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_of_the_wrong_shape_get_400_naming_the_field() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let api = app.api(&org.api_key);
    let cases = [
        (json!({"pass_mark": "high"}), "`pass_mark`: invalid type: string"),
        (json!({"active": "yes"}), "`active`: invalid type: string"),
        (json!({"questions": [{"prompt": "Q?", "choices": ["a", "b"], "answer": -1}]}), "`questions[0].answer`"),
        (json!({"questions": [{"prompt": "Q?", "choices": ["a", "b"]}]}), "missing field `answer`"),
        (json!({"colour": "red"}), "unknown field `colour`"),
    ];
    for (change, says) in cases {
        let (status, body) =
            api.post("/assessments", changed(new_assessment("Backend Engineer"), change.clone())).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_request")), "{change}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(says), "{change}: {body}");
    }

    for body in ["{\"name\": ", "[1]"] {
        let request = api.request(Method::POST, "/assessments").header("content-type", "application/json").body(body);
        let (status, error) = api.exchange(request, Method::POST, "/assessments").await;
        assert_eq!((status, error["error"]["code"].as_str()), (400, Some("bad_request")), "{body}: {error}");
        assert!(error["error"]["message"].as_str().unwrap().len() > 20, "{error}");
    }
    let http = app.http();
    let url = format!("{}/api/v1/assessments", app.url);
    let anonymous = http.post(&url).json(&new_assessment("X")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(stored_count(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_assigned_unique_and_never_change() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let globex = app.create_org("Globex").await;
    // Most codes taken already: new assessments must draw again until they find a free one.
    sqlx::query(
        "INSERT INTO assessments (org_id, name, code, pass_mark, time_limit_minutes)
         SELECT $1, 'Filler ' || n, 'FC-' || lpad(n::text, 5, '0'), 50, 30 FROM generate_series(0, 69999) AS n",
    )
    .bind(globex.id)
    .execute(&app.db)
    .await
    .unwrap();
    let mut codes = Vec::new();
    for name in ["One", "Two", "Three", "Four", "Five"] {
        let created = create(&app, &acme.api_key, name).await;
        codes.push(created["code"].as_str().unwrap().to_string());
    }
    assert!(codes.iter().all(|c| is_code(c) && c.as_str() >= "FC-70000"), "{codes:?}");
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), codes.len(), "{codes:?}");

    let api = app.api(&acme.api_key);
    let created = api.get("/assessments").await.1["data"][0].clone();
    let path = format!("/assessments/{}", created["id"].as_str().unwrap());
    let (status, body) = api.send(Method::PATCH, &path, json!({"code": "FC-00001", "name": "Renamed"})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("code")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("read-only"), "{body}");
    let other_id = uuid::Uuid::new_v4().to_string();
    let (status, body) = api.send(Method::PATCH, &path, json!({"id": other_id})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("id")), "{body}");
    let (_, after) = api.get(&path).await;
    assert_eq!(after, created, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_taken_in_any_case_or_spacing_is_409() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let globex = app.create_org("Globex").await;
    let api = app.api(&acme.api_key);
    create(&app, &acme.api_key, "Backend Engineer").await;
    let (status, body) = api.post("/assessments", new_assessment(" BACKEND   engineer")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("already has this name"));
    create(&app, &globex.api_key, "Backend Engineer").await;

    let analyst = create(&app, &acme.api_key, "Data Analyst").await;
    let path = format!("/assessments/{}", analyst["id"].as_str().unwrap());
    let (status, _) = api.send(Method::PATCH, &path, json!({"name": "backend engineer"})).await;
    assert_eq!(status, 409);
    let (status, same) = api.send(Method::PATCH, &path, json!({"name": "DATA analyst"})).await;
    assert_eq!((status, same["name"].as_str()), (200, Some("DATA analyst")), "renaming in place is fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organization_can_neither_see_nor_change_assessments() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let globex = app.create_org("Globex").await;
    let created = create(&app, &acme.api_key, "Backend Engineer").await;
    let path = format!("/assessments/{}", created["id"].as_str().unwrap());
    let intruder = app.api(&globex.api_key);

    assert_eq!(intruder.get("/assessments").await, (200, json!({"data": [], "next_cursor": null})));
    let (status, body) = intruder.get(&path).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    assert_eq!(intruder.send(Method::PATCH, &path, json!({"name": "Taken over"})).await.0, 404);
    assert_eq!(intruder.send(Method::PATCH, &path, json!({"pass_mark": 500})).await.0, 404);
    assert_eq!(intruder.get("/assessments/not-a-uuid").await.0, 404);
    assert_eq!(app.api(&acme.api_key).get(&path).await, (200, created));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_assessments() {
    let app = spawn_app().await;
    let doc: Value =
        app.http().get(format!("{}/api/v1/openapi.json", app.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/assessments"]["post"].is_object() && doc["paths"]["/assessments/{id}"]["patch"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
    let schema = &doc["components"]["schemas"]["Assessment"]["properties"];
    for field in ["id", "name", "code", "pass_mark", "time_limit_minutes", "expires_after_days", "questions", "tags"] {
        assert!(schema[field].is_object(), "{field}");
    }
}
