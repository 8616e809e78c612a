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

async fn forgot(app: &TestApp, email: &str) -> Page {
    app.browser().post_form("/password/forgot", &[("email", email)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_signs_up_invites_a_teammate_and_she_resets_her_password() {
    let app = spawn_app().await;

    // Signing up answers "check your email"; nobody is signed in yet.
    let admin = app.browser();
    let page = admin
        .post_form("/signup", &[("organization", "Acme"), ("email", "ada@acme.test"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.text("#check-email h1"), "Check your email");
    assert!(page.text("#check-email").contains("ada@acme.test"));
    assert!(!page.exists("p.outbox"), "mail goes out by SMTP here");
    assert!(admin.cookie("fulcrum_session").is_none());
    assert_eq!(admin.get("/app").await.status, 303);

    // Until the address is confirmed, even the right password does not sign in.
    let early = admin.sign_in("ada@acme.test", PASSWORD).await;
    assert_eq!(early.status, 403, "{}", early.body);
    assert!(early.text("#confirm-first h1").contains("Confirm your email address"));
    assert_eq!(early.attr("#resend input[name=email]", "value").as_deref(), Some("ada@acme.test"));
    assert!(admin.cookie("fulcrum_session").is_none());

    // The link in the email confirms the address and signs the admin in, once.
    let mail = app.mail_to("ada@acme.test", 0).await;
    assert_eq!(mail.subject, "Confirm your email address for Fulcrum");
    let confirm = link_in(&mail, "/signup/verify/");
    assert!(confirm.starts_with(&app.url), "{confirm}");
    let confirmed = admin.get(&confirm).await;
    assert_eq!((confirmed.status, confirmed.location.as_deref()), (303, Some("/app")));
    let dashboard = admin.get("/app").await;
    assert_eq!(dashboard.status, 200);
    assert!(dashboard.text("header .who").contains("ada@acme.test · Acme"));
    let again = app.browser().get(&confirm).await;
    assert_eq!(again.status, 410);
    assert!(again.text("#link-problem h1").contains("used already"));
    assert_eq!(app.browser().sign_in("ada@acme.test", PASSWORD).await.status, 303);

    // Only a hash of the link's secret is kept, and nothing else of it once it went out.
    let secret = confirm.rsplit('/').next().unwrap();
    let (by_hash, readable): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE token_hash = $1), count(*) FILTER (WHERE token_hash = $2 OR token_sealed IS NOT NULL)
         FROM account_links",
    )
    .bind(fulcrum::crypto::hash_token(secret))
    .bind(secret)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((by_hash, readable), (1, 0));

    // The admin invites a teammate by email.
    let before = app.smtp.messages().len();
    let invited = admin
        .post_form("/app/settings/team/invites", &[("email", "grace@acme.test"), ("name", "Grace"), ("role", "member")])
        .await;
    assert_eq!((invited.status, invited.location.as_deref()), (303, Some("/app/settings/team?done=invited")));
    let team = admin.get("/app/settings/team?done=invited").await;
    assert!(team.text("p.notice").contains("on its way"));
    assert_eq!(team.texts("#invites td[data-label=Email]"), ["grace@acme.test"]);
    let mail = app.mail_to("grace@acme.test", before).await;
    assert_eq!(mail.subject, "ada@acme.test invited you to join Acme on Fulcrum");
    let join = link_in(&mail, "/join/");

    // She chooses a password (the policy applies) and is signed in as a member.
    let grace = app.browser();
    let page = grace.get(&join).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text("#join h1"), "Join Acme");
    assert!(page.text("#join").contains("a member"));
    assert_eq!(page.attr("#accept input[name=name]", "value").as_deref(), Some("Grace"));
    let short = grace.post_form(&join, &[("name", "Grace Hopper"), ("password", "short")]).await;
    assert_eq!(short.status, 422);
    assert!(short.text("p.error").contains("at least 10"));
    assert_eq!(short.attr("#accept input[name=name]", "value").as_deref(), Some("Grace Hopper"));
    let joined = grace.post_form(&join, &[("name", "Grace Hopper"), ("password", PASSWORD)]).await;
    assert_eq!((joined.status, joined.location.as_deref()), (303, Some("/app")), "{}", joined.body);
    assert!(grace.get("/app").await.text("header .who").contains("grace@acme.test · Acme"));
    assert_eq!(grace.get("/app/settings/team").await.status, 403, "a member, as invited");
    assert_eq!(app.browser().get(&join).await.status, 410, "the invitation works once");
    let team = admin.get("/app/settings/team").await;
    assert!(team.texts("#members td").iter().any(|t| t == "grace@acme.test"));
    assert!(team.texts("#members td").iter().any(|t| t == "Grace Hopper"));
    assert!(!team.exists("#invites"), "no longer pending");

    // She forgets her password and resets it by email.
    let before = app.smtp.messages().len();
    assert_eq!(forgot(&app, "Grace@Acme.test").await.status, 200);
    let mail = app.mail_to("grace@acme.test", before).await;
    assert_eq!(mail.subject, "Reset your Fulcrum password");
    let reset = link_in(&mail, "/password/reset/");
    let resetter = app.browser();
    let form = resetter.get(&reset).await;
    assert_eq!(form.status, 200);
    assert!(form.text("main").contains("grace@acme.test"));
    let weak = resetter.post_form(&reset, &[("password", "short")]).await;
    assert_eq!(weak.status, 422, "the policy applies, and the link still works");
    let done = resetter.post_form(&reset, &[("password", NEW_PASSWORD)]).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/app")), "{}", done.body);
    assert_eq!(resetter.get("/app").await.status, 200, "signed in");
    assert_eq!(grace.get("/app").await.status, 303, "her other sessions ended");
    assert_eq!(app.browser().sign_in("grace@acme.test", PASSWORD).await.status, 401, "the old password is refused");
    assert_eq!(app.browser().sign_in("grace@acme.test", NEW_PASSWORD).await.status, 303);
    let twice = app.browser().post_form(&reset, &[("password", "yet another passphrase")]).await;
    assert_eq!(twice.status, 410, "the reset link works once");
    assert!(twice.text("#link-problem h1").contains("used already"));
    assert_eq!(app.browser().sign_in("grace@acme.test", "yet another passphrase").await.status, 401);
    app.settle().await;
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
    assert!(
        text.contains("/password/forgot") && text.contains("/login") && !text.contains("/signup/verify/"),
        "{text}"
    );
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
async fn forgot_password_answers_the_same_and_sends_one_link_at_a_time() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let page = app.browser().get("/password/forgot").await;
    assert_eq!(page.status, 200);
    assert!(page.exists("#forgot input[name=email]"));
    assert!(app.browser().get("/login").await.exists("a[href='/password/forgot']"));

    let known = forgot(&app, &org.admin_email).await;
    let unknown = forgot(&app, "nobody@acme.test").await;
    assert_eq!((known.status, unknown.status), (200, 200));
    assert_eq!(words(&known, &org.admin_email), words(&unknown, "nobody@acme.test"));
    let first = link_in(&app.mail_to(&org.admin_email, 0).await, "/password/reset/");

    // Asking again at once answers the same and sends nothing; nothing goes to an unknown address.
    let again = forgot(&app, &org.admin_email).await;
    assert_eq!(words(&again, &org.admin_email), words(&known, &org.admin_email));
    assert_eq!(sent_to(&app, &org.admin_email).await, 1);
    assert_eq!(sent_to(&app, "nobody@acme.test").await, 0);

    let bad = forgot(&app, "not-an-email").await;
    assert_eq!(bad.status, 422);
    assert!(bad.text("p.error").contains("email address"));

    // After the cooldown a new link goes out, and it replaces the first.
    app.clock().advance(chrono::Duration::minutes(6));
    let before = app.smtp.messages().len();
    forgot(&app, &org.admin_email).await;
    let second = link_in(&app.mail_to(&org.admin_email, before).await, "/password/reset/");
    assert_ne!(first, second);
    let replaced = app.browser().get(&first).await;
    assert_eq!(replaced.status, 404);
    assert!(replaced.text("#link-problem h1").contains("not valid"));
    assert_eq!(app.browser().get(&second).await.status, 200);
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
async fn expired_and_unknown_links_get_a_clear_page() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    forgot(&app, &org.admin_email).await;
    let reset = link_in(&app.mail_to(&org.admin_email, 0).await, "/password/reset/");
    let admin = app.signed_in(&org.admin_email).await;
    admin.post_form("/app/settings/team/invites", &[("email", "grace@acme.test"), ("role", "member")]).await;
    let join = link_in(&app.mail_to("grace@acme.test", 0).await, "/join/");
    app.settle().await;

    // A reset link is valid for one hour.
    app.clock().advance(chrono::Duration::minutes(61));
    let expired = app.browser().get(&reset).await;
    assert_eq!(expired.status, 410);
    assert!(expired.text("#link-problem h1").contains("expired"));
    assert!(expired.exists("#link-problem a[href='/password/forgot']"));
    let late = app.browser().post_form(&reset, &[("password", NEW_PASSWORD)]).await;
    assert_eq!(late.status, 410);
    assert_eq!(app.browser().sign_in(&org.admin_email, NEW_PASSWORD).await.status, 401, "nothing changed");
    assert_eq!(app.browser().sign_in(&org.admin_email, PASSWORD).await.status, 303);

    // An invitation for seven days.
    assert_eq!(app.browser().get(&join).await.status, 200);
    app.clock().advance(chrono::Duration::days(7));
    let expired = app.browser().get(&join).await;
    assert_eq!(expired.status, 410);
    assert!(expired.text("#link-problem").contains("Ask the admin who invited you"));
    let team = admin.get("/app/settings/team").await;
    assert_eq!(team.text("#invites td.validity"), "expired");

    let made_up = fulcrum::crypto::random_token(32);
    for path in ["/password/reset/", "/join/", "/signup/verify/"] {
        let unknown = app.browser().get(&format!("{path}{made_up}")).await;
        assert_eq!(unknown.status, 404, "{path}");
        assert!(unknown.text("#link-problem h1").contains("not valid"), "{path}");
        let malformed = app.browser().get(&format!("{path}not%20a%20token")).await;
        assert_eq!(malformed.status, 404, "{path}");
    }
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
async fn sign_ups_never_confirmed_are_forgotten_and_free_the_address() {
    let app = spawn_app().await;
    let kept = app.create_org("Confirmed").await;
    app.browser()
        .post_form("/signup", &[("organization", "Squatted"), ("email", "ada@acme.test"), ("password", PASSWORD)])
        .await;
    app.mail_to("ada@acme.test", 0).await;
    app.settle().await;
    sqlx::query("UPDATE organizations SET created_at = now() - interval '31 days'").execute(&app.db).await.unwrap();
    sqlx::query("UPDATE account_links SET expires_at = now() - interval '8 days'").execute(&app.db).await.unwrap();

    fulcrum::jobs::maintenance::prune(&app.state.jobs()).await.unwrap();
    let orgs: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM organizations").fetch_all(&app.db).await.unwrap();
    assert_eq!(orgs, [kept.id], "an organization someone confirmed stays, however old");
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM account_links").fetch_one(&app.db).await.unwrap();
    assert_eq!(links, 0);

    // The address is free for whoever really holds it.
    app.clock().advance(chrono::Duration::minutes(6));
    let browser = app.sign_up("Acme", "ada@acme.test").await;
    assert!(browser.get("/app").await.text("header .who").contains("ada@acme.test · Acme"));
}
