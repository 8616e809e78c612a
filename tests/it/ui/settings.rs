//! Setting up in the browser: signing up and connecting Lever, the signature tokens,
//! Create webhooks in Lever, and the Copy button.

use serde_json::json;

use super::{ACCOUNT, sign_in, start};
use crate::support::lever::ASSESS_STAGE;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_up_and_connecting_lever_ends_on_the_confirmation() {
    let Some((app, tab)) = start().await else { return };
    tab.goto("/signup").await;
    tab.check("signup").await;
    tab.fill("input[name=organization]", "Acme").await;
    tab.fill("input[name=email]", "ada@acme.test").await;
    tab.fill("input[name=password]", crate::support::org::PASSWORD).await;
    tab.click("main form button[type=submit]").await;
    // The address is confirmed by the link emailed to it.
    let mail = app.mail_to("ada@acme.test", 0).await;
    let link = crate::support::accounts::link_in(&mail, "/signup/verify/");
    let path = &link[link.find("/signup/verify/").expect("a confirmation link")..];
    tab.goto(path).await;
    tab.find("#getting-started").await;
    tab.check("dashboard-first-visit").await;

    app.seed_account(ACCOUNT);
    tab.click("nav a[href='/app/settings/integrations/lever']").await;
    assert_eq!(tab.text("#connection-status").await, "not connected");
    tab.check("lever-not-connected").await;
    // Lever's approval page (the fake approves at once) sends the browser back.
    tab.click("#connection a.button").await;
    tab.find("#result").await;
    assert_eq!(tab.text("h1").await, "Lever is connected");
    assert!(tab.text("#result").await.contains(ACCOUNT));
    tab.check("lever-callback").await;
    tab.click("main a.button").await;
    assert_eq!(tab.text("#connection-status").await, "connected");
    tab.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_tokens_pasted_in_are_saved_and_never_shown_back() {
    let Some((app, tab)) = start().await else { return };
    let org = app.create_org("Acme").await;
    app.connect_lever(&org, ACCOUNT).await;
    app.settle().await; // the stage list is read from Lever
    sign_in(&tab, &org.admin_email).await;
    tab.goto("/app/settings/integrations/lever").await;
    tab.paste("input[name=application_created_token]", "app-created-token-from-lever").await;
    tab.paste("input[name=stage_change_token]", "stage-change-token-from-lever").await;
    tab.click(&format!("input[name=trigger_stage][value='{ASSESS_STAGE}']")).await;
    tab.click("#settings button[type=submit]").await;
    assert_eq!(tab.text("p.notice").await, "Settings saved.");
    tab.check("lever-saved").await;
    assert!(tab.checked(&format!("input[name=trigger_stage][value='{ASSESS_STAGE}']")).await);
    let page: String = tab.js("return document.documentElement.outerHTML;", vec![]).await;
    assert!(!page.contains("token-from-lever"), "tokens are never shown back");
    let (_, settings) = app.api(&org.api_key).get("/integrations/lever").await;
    assert_eq!(settings["signature_tokens"]["applicationCreated"], json!(true));
    assert_eq!(settings["signature_tokens"]["candidateStageChange"], json!(true));
    assert_eq!(settings["signature_tokens"]["candidateHired"], json!(false), "left empty: not set");
    assert_eq!(settings["trigger_stage_ids"], json!([ASSESS_STAGE]));
    tab.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_webhooks_in_lever_registers_them_from_the_settings_page() {
    let Some((app, tab)) = start().await else { return };
    let org = app.create_org("Acme").await;
    app.connect_lever(&org, ACCOUNT).await;
    sign_in(&tab, &org.admin_email).await;
    tab.goto("/app/settings/integrations/lever").await;
    tab.click("#webhooks form[action$='/webhooks'] button").await;
    assert!(tab.text("p.notice").await.starts_with("Webhooks created in Lever"));
    let created = tab.text("#created-webhooks").await;
    assert!(created.contains("applicationCreated") && created.contains("candidateStageChange"), "{created}");
    tab.check("lever-webhooks-created").await;
    let url = app.webhook_url(&org).await;
    let hooks = app.lever.webhooks(ACCOUNT);
    assert!(!hooks.is_empty() && hooks.iter().all(|h| h["url"] == url.as_str()), "{hooks:?}");
    tab.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_copy_button_puts_the_webhook_url_on_the_clipboard() {
    let Some((app, tab)) = start().await else { return };
    let org = app.create_org("Acme").await;
    sign_in(&tab, &org.admin_email).await;
    tab.goto("/app/settings/integrations/lever").await;
    tab.allow_clipboard().await;
    tab.click("button[data-copy=webhook-url]").await;
    tab.wait_until(
        "the button to say Copied",
        "document.querySelector('[data-copy=webhook-url]').textContent === 'Copied'",
    )
    .await;
    assert_eq!(tab.clipboard().await, app.webhook_url(&org).await);
    // And it goes back to saying what it does.
    tab.wait_until(
        "the button to say Copy again",
        "document.querySelector('[data-copy=webhook-url]').textContent === 'Copy'",
    )
    .await;
    tab.close().await;
}
