//! Accounts a team runs by itself: signing up with a confirmed address, inviting
//! teammates, resetting a forgotten password, and answers that never say who has an
//! account.

use std::time::Duration;

use fulcrum::orgs::Role;

use crate::support::{
    Options, TestApp, accounts::link_in, browser::Page, eventually, org::PASSWORD, spawn_app, spawn_with,
};

const NEW_PASSWORD: &str = "a brand new passphrase";

/// The words of a page's main part, with `address` blanked out.
fn words(page: &Page, address: &str) -> String {
    page.text("main").replace(address, "ADDRESS")
}

/// How many messages went to `to`, once the queue has nothing left to send.
async fn sent_to(app: &TestApp, to: &str) -> usize {
    app.settle().await;
    app.smtp.messages().iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to))).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_answers_the_same_whether_or_not_the_address_has_an_account() {
    let app = spawn_app().await;
    let existing = app.create_org("Existing").await;
    let signup = |email: String| {
        let browser = app.browser();
        async move {
            browser.post_form("/signup", &[("organization", "Acme"), ("email", &email), ("password", PASSWORD)]).await
        }
    };
    let fresh = signup("new@acme.test".into()).await;
    let known = signup(existing.admin_email.to_uppercase()).await;
    assert_eq!((fresh.status, known.status), (200, 200));
    assert_eq!(words(&fresh, "new@acme.test"), words(&known, &existing.admin_email.to_uppercase()));
    assert!(known.headers.get_all("set-cookie").iter().all(|c| !c.to_str().unwrap().contains("fulcrum_session")));

    // The new address is asked to confirm; the known one is told, and nothing is created.
    assert!(link_in(&app.mail_to("new@acme.test", 0).await, "/signup/verify/").starts_with(&app.url));
    let notice = app.mail_to(&existing.admin_email, 0).await;
    assert_eq!(notice.subject, "Someone tried to sign up to Fulcrum with your address");
    let text = notice.text.as_deref().unwrap();
    assert!(text.contains("/login") && !text.contains("/signup/verify/"), "{text}");
    let orgs: Vec<String> =
        sqlx::query_scalar("SELECT name FROM organizations ORDER BY name").fetch_all(&app.db).await.unwrap();
    assert_eq!(orgs, ["Acme", "Existing"]);
    let verified: Option<bool> =
        sqlx::query_scalar("SELECT email_verified_at IS NOT NULL FROM users WHERE email = 'new@acme.test'")
            .fetch_optional(&app.db)
            .await
            .unwrap();
    assert_eq!(verified, Some(false), "the new admin waits for the link");

    // Asking again at once answers the same and fills nobody's inbox.
    let known_again = signup(existing.admin_email.clone()).await;
    let fresh_again = signup("new@acme.test".into()).await;
    assert_eq!(words(&known_again, &existing.admin_email), words(&fresh, "new@acme.test"));
    assert_eq!(words(&fresh_again, "new@acme.test"), words(&fresh, "new@acme.test"));
    assert_eq!(sent_to(&app, &existing.admin_email).await, 1);
    assert_eq!(sent_to(&app, "new@acme.test").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_admin_can_have_the_link_sent_again() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.post_form("/signup", &[("organization", "Acme"), ("email", "ada@acme.test"), ("password", PASSWORD)]).await;
    let first = link_in(&app.mail_to("ada@acme.test", 0).await, "/signup/verify/");

    // Right after signing up, asking again answers as always but sends nothing more.
    let resend = |email: &'static str| {
        let browser = app.browser();
        async move { browser.post_form("/signup/resend", &[("email", email)]).await }
    };
    let soon = resend("ada@acme.test").await;
    assert_eq!(soon.status, 200);
    assert!(soon.text("#check-email").contains("ada@acme.test"));
    assert_eq!(sent_to(&app, "ada@acme.test").await, 1);

    app.clock().advance(chrono::Duration::minutes(6));
    let later = resend("ada@acme.test").await;
    let nobody = resend("nobody@acme.test").await;
    assert_eq!(words(&later, "ada@acme.test"), words(&nobody, "nobody@acme.test"), "the same for any address");
    let second = link_in(&app.mail_to("ada@acme.test", 1).await, "/signup/verify/");
    assert_eq!(app.browser().get(&first).await.status, 404, "the newer link replaced it");
    let confirmed = browser.get(&second).await;
    assert_eq!((confirmed.status, confirmed.location.as_deref()), (303, Some("/app")));
    assert_eq!(browser.get("/app").await.status, 200);
    assert_eq!(sent_to(&app, "nobody@acme.test").await, 0);

    // Once confirmed, asking again sends nothing.
    app.clock().advance(chrono::Duration::minutes(6));
    resend("ada@acme.test").await;
    assert_eq!(sent_to(&app, "ada@acme.test").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_development_the_page_says_where_the_message_is() {
    let app = spawn_with(Options { mail_to_outbox: true, ..Options::default() }).await;
    let page = app
        .browser()
        .post_form("/signup", &[("organization", "Acme"), ("email", "ada@acme.test"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, 200);
    let outbox = app.data_dir.path().join("outbox");
    assert!(page.text("p.outbox").contains(&format!("{}/", outbox.display())), "{}", page.text("main"));
    let written = || {
        std::fs::read_dir(&outbox).into_iter().flatten().flatten().any(|entry| {
            std::fs::read_to_string(entry.path())
                .is_ok_and(|eml| eml.contains("Subject: Confirm your email address for Fulcrum"))
        })
    };
    eventually("the message in the outbox", Duration::from_secs(15), || async { written() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_say_nothing_about_other_organizations() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let globex = app.create_org("Globex").await;
    let admin = app.signed_in(&acme.admin_email).await;
    let invite = |email: String, role: &'static str| {
        let admin = &admin;
        async move { admin.post_form("/app/settings/team/invites", &[("email", &email), ("role", role)]).await }
    };

    // An address with an account elsewhere is invited exactly like a new one.
    let fresh = invite("new@acme.test".into(), "member").await;
    let taken = invite(globex.admin_email.clone(), "member").await;
    assert_eq!((fresh.status, fresh.location.as_deref()), (taken.status, taken.location.as_deref()));
    let listed = admin.get("/app/settings/team").await.texts("#invites td[data-label=Email]");
    assert_eq!(listed, ["new@acme.test".to_string(), globex.admin_email.clone()]);

    // Its link tells the reader why it cannot be accepted, and accepting changes nothing.
    let join = link_in(&app.mail_to(&globex.admin_email, 0).await, "/join/");
    let page = app.browser().get(&join).await;
    assert_eq!(page.status, 409);
    assert!(page.text("#join p.error").contains("already has a Fulcrum account"));
    assert!(!page.exists("#accept"));
    let tried = app.browser().post_form(&join, &[("password", NEW_PASSWORD)]).await;
    assert_eq!(tried.status, 409);
    let orgs: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT org_id FROM users WHERE lower(email) = lower($1)")
        .bind(&globex.admin_email)
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(orgs, [globex.id]);
    assert_eq!(app.browser().sign_in(&globex.admin_email, PASSWORD).await.status, 303, "the password is theirs");

    // Someone already on the team: the admin sees the team anyway.
    let member = app.add_member(&acme, Role::Member).await;
    let on_team = invite(member.to_uppercase(), "admin").await;
    assert_eq!(on_team.status, 409);
    assert!(on_team.text("p.error").contains("on the team already"));

    // Bad input is explained and kept.
    let bad = admin
        .post_form("/app/settings/team/invites", &[("email", "carol@"), ("name", "Carol"), ("role", "admin")])
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.text("p.error").contains("email address"), "{}", bad.text("p.error"));
    assert_eq!(bad.attr("#invite input[name=email]", "value").as_deref(), Some("carol@"));
    assert_eq!(bad.attr("#invite input[name=name]", "value").as_deref(), Some("Carol"));
    assert!(bad.attr("#invite option[value=admin]", "selected").is_some());
    assert_eq!(invite("carol@acme.test".into(), "owner").await.status, 422);

    // Inviting again replaces the link; withdrawing ends it.
    let first = link_in(&app.mail_to("new@acme.test", 0).await, "/join/");
    let before = app.smtp.messages().len();
    invite("new@acme.test".into(), "admin").await;
    let second = link_in(&app.mail_to("new@acme.test", before).await, "/join/");
    assert_eq!(app.browser().get(&first).await.status, 404);
    assert!(app.browser().get(&second).await.text("#join").contains("an admin"), "the newest role");
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM team_invites WHERE email = 'new@acme.test'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let outsider = app.signed_in(&globex.admin_email).await;
    let across = outsider.post_form(&format!("/app/settings/team/invites/{id}/revoke"), &[]).await;
    assert_eq!(across.status, 404, "another organization's invitations are out of reach");
    let bob = app.signed_in(&member).await;
    assert_eq!(
        bob.post_form("/app/settings/team/invites", &[("email", "x@acme.test"), ("role", "admin")]).await.status,
        403
    );
    let revoked = admin.post_form(&format!("/app/settings/team/invites/{id}/revoke"), &[]).await;
    assert_eq!((revoked.status, revoked.location.as_deref()), (303, Some("/app/settings/team?done=revoked")));
    assert_eq!(app.browser().get(&second).await.status, 404);
    let listed = admin.get("/app/settings/team").await.texts("#invites td[data-label=Email]");
    assert_eq!(listed, std::slice::from_ref(&globex.admin_email));
    app.settle().await;
}
