//! The pages no other browser test passes through, looked at with something on them: each
//! fits a phone and a desktop and passes axe-core.

use fulcrum::orgs::Role;

use super::{invite, ready, sign_in, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_pages_fit_phones_and_desktops_and_pass_axe() {
    let Some((app, tab)) = start().await else { return };
    let org = ready(&app).await;
    invite(&app, &org, "opp-1").await;
    app.add_member(&org, Role::Member).await;
    app.settle().await;

    tab.goto("/login").await;
    tab.check("login").await;
    sign_in(&tab, &org.admin_email).await;

    tab.goto("/app/settings/integrations/lever").await;
    tab.find("input[name=trigger_stage]").await;
    tab.check("lever-connected").await;

    tab.goto("/app/deliveries").await;
    tab.find("#deliveries tbody tr").await;
    tab.check("deliveries").await;

    tab.goto("/app/settings/email").await;
    tab.find("#preview-text").await;
    tab.check("email").await;

    tab.goto("/app/settings/team").await;
    assert_eq!(tab.texts("#members tbody tr").await.len(), 2);
    tab.check("team").await;

    tab.goto("/app/settings/api-keys").await;
    tab.fill("input[name=name]", "Grading engine").await;
    tab.click("main form.row button[type=submit]").await;
    tab.find("#new-key").await;
    tab.check("api-keys-new").await;

    tab.goto("/app/invitations/00000000-0000-0000-0000-000000000000").await;
    tab.find(".error-message").await;
    tab.check("not-found").await;
    tab.close().await;
}
