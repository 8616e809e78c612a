//! Behind PgBouncer in session mode: migrations, a webhook, the jobs it causes (LISTEN/NOTIFY
//! wake-ups) and their effects. `.ci/run` starts a PgBouncer
//! in front of the test server and runs this with `FULCRUM_TEST_PGBOUNCER_URL` set.

use std::time::Duration;

use crate::support::{
    Options, eventually,
    lever::ASSESS_STAGE,
    spawn_with,
    workflow::{POSTING, link_in},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a PgBouncer: .ci/run starts one and sets FULCRUM_TEST_PGBOUNCER_URL"]
async fn a_stage_change_invites_through_pgbouncer_in_session_mode() {
    let pooler = std::env::var("FULCRUM_TEST_PGBOUNCER_URL").expect("FULCRUM_TEST_PGBOUNCER_URL");
    let app = spawn_with(Options { database_server: Some(pooler), ..Options::default() }).await;
    let application: String =
        sqlx::query_scalar("SELECT current_setting('application_name')").fetch_one(&app.db).await.unwrap();
    assert_eq!(application, "fulcrum");
    let org = app.connected_org("Acme", "acct-pooled").await;
    app.assessment_ready(&org, "acct-pooled").await;
    app.add_candidate("acct-pooled", "opp-1", "ada@candidates.test", Some(POSTING), &[]);
    assert_eq!(app.move_candidate(&org, "acct-pooled", "opp-1", ASSESS_STAGE).await.status(), 200);
    let mail = app.smtp.wait_for(1, Duration::from_secs(20)).await;
    assert!(link_in(&mail[0]).contains("/a/"));
    eventually("the invited tag in Lever", Duration::from_secs(20), || async {
        app.lever.tags("acct-pooled", "opp-1").contains(&"Fulcrum: Candidate Invited".to_string())
    })
    .await;
    app.settle().await;
}
