//! What `/metrics` on the metrics listener shows, kept with `prometheus-client` and written
//! in Prometheus' text format. Counters and histograms belong to this process, as Prometheus
//! expects; the queue and Lever-connection gauges are read from the database at scrape time
//! ([`DatabaseGauges`]), so they are right across all processes.
//!
//! Every label has few values: outcomes, statuses, job kinds and Lever endpoints as path
//! patterns (ids replaced), never ids, keys or addresses.

use std::{borrow::Cow, time::Duration};

use prometheus_client::{
    encoding::{EncodeLabelSet, prometheus_text},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

type Label = Cow<'static, str>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LeverCallLabels {
    endpoint: Label,
    status: Label,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// This process's counters and histograms.
pub struct Metrics {
    registry: Registry,
    webhooks: Family<OutcomeLabel, Counter>,
    webhook_ack: Histograms<OutcomeLabel>,
    lever_calls: Family<StatusLabel, Counter>,
    lever_call_time: Histograms<LeverCallLabels>,
    emails: Family<OutcomeLabel, Counter>,
    email_send_time: Histograms<OutcomeLabel>,
    jobs_finished: Family<OutcomeLabel, Counter>,
    job_queue_wait: Histograms<KindLabel>,
    job_run_time: Histograms<KindLabel>,
}

/// What the database says when `/metrics` is read.
#[derive(Debug, Default)]
pub struct DatabaseGauges {
    /// Unfinished jobs by state (queued, running, paused, failed).
    pub jobs_by_state: Vec<(String, i64)>,
    /// Every job kind, with how long its oldest due job has waited (0 when none waits).
    pub oldest_waiting: Vec<(String, Duration)>,
    /// Lever connections whose access was revoked: their organizations' work is paused.
    pub connections_needing_reconnect: i64,
}

// Bucket bounds, in seconds.
fn fast_requests() -> Histogram {
    // 0.5 ms … about 4 s: a webhook is answered in milliseconds, Lever asks for under 10 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

fn outbound_calls() -> Histogram {
    // 5 ms … about 40 s: Lever and SMTP calls, including slow and timed-out ones.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

fn queue_waits() -> Histogram {
    // 1 ms … about 2.3 hours: from instant pick-up to a backlog worth paging someone for.
    Histogram::new(exponential_buckets(0.001, 3.0, 16))
}

fn job_runs() -> Histogram {
    // 1 ms … about 5.5 minutes (a job's time-out is 5 minutes).
    Histogram::new(exponential_buckets(0.001, 3.0, 12))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let webhooks = Family::default();
        let webhook_ack = Histograms::new_with_constructor(fast_requests as fn() -> Histogram);
        let lever_calls = Family::default();
        let lever_call_time = Histograms::new_with_constructor(outbound_calls as fn() -> Histogram);
        let emails = Family::default();
        let email_send_time = Histograms::new_with_constructor(outbound_calls as fn() -> Histogram);
        let jobs_finished = Family::default();
        let job_queue_wait = Histograms::new_with_constructor(queue_waits as fn() -> Histogram);
        let job_run_time = Histograms::new_with_constructor(job_runs as fn() -> Histogram);
        // Counters are registered without `_total`: the encoder adds it.
        registry.register("fulcrum_webhooks", "Lever webhook deliveries by outcome", webhooks.clone());
        registry.register(
            "fulcrum_webhook_ack_seconds",
            "Time from a webhook delivery reaching its handler to Fulcrum's answer, by outcome",
            webhook_ack.clone(),
        );
        registry.register("fulcrum_lever_calls", "Calls to Lever's API by HTTP status (or error)", lever_calls.clone());
        registry.register(
            "fulcrum_lever_call_seconds",
            "Time for Lever to answer a call (status and headers), by endpoint and status",
            lever_call_time.clone(),
        );
        registry.register("fulcrum_emails", "Emails by outcome", emails.clone());
        registry.register(
            "fulcrum_email_send_seconds",
            "Time to hand an email to the SMTP server (or the outbox), by outcome",
            email_send_time.clone(),
        );
        registry.register("fulcrum_jobs_finished", "Jobs finished by this process, by outcome", jobs_finished.clone());
        registry.register(
            "fulcrum_job_queue_wait_seconds",
            "Time from when a job was due to when a worker claimed it, by job kind",
            job_queue_wait.clone(),
        );
        registry.register("fulcrum_job_run_seconds", "Time a job ran, by job kind", job_run_time.clone());
        Self {
            registry,
            webhooks,
            webhook_ack,
            lever_calls,
            lever_call_time,
            emails,
            email_send_time,
            jobs_finished,
            job_queue_wait,
            job_run_time,
        }
    }
}

impl Metrics {
    /// A webhook delivery was answered with `outcome`, `elapsed` after its handler started.
    pub fn webhook(&self, outcome: &'static str, elapsed: Duration) {
        let label = OutcomeLabel { outcome: outcome.into() };
        self.webhooks.get_or_create(&label).inc();
        self.webhook_ack.get_or_create(&label).observe(elapsed.as_secs_f64());
    }

    /// Lever answered a call to `endpoint` (a method and path pattern, e.g.
    /// `GET /opportunities/{id}`) with `status` (or `timeout`, `error`) after `elapsed`.
    pub fn lever_call(&self, endpoint: impl Into<Label>, status: impl Into<Label>, elapsed: Duration) {
        let status = status.into();
        self.lever_calls.get_or_create(&StatusLabel { status: status.clone() }).inc();
        let labels = LeverCallLabels { endpoint: endpoint.into(), status };
        self.lever_call_time.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    /// An email was sent (`sent`) or refused (`failed`), taking `elapsed`.
    pub fn email(&self, outcome: &'static str, elapsed: Duration) {
        let label = OutcomeLabel { outcome: outcome.into() };
        self.emails.get_or_create(&label).inc();
        self.email_send_time.get_or_create(&label).observe(elapsed.as_secs_f64());
    }

    /// A worker claimed a job of `kind` that had been due for `waited`.
    pub fn job_claimed(&self, kind: &str, waited: Duration) {
        let label = KindLabel { kind: kind.to_string().into() };
        self.job_queue_wait.get_or_create(&label).observe(waited.as_secs_f64());
    }

    /// A job of `kind` ran for `elapsed`, however it ended.
    pub fn job_ran(&self, kind: &str, elapsed: Duration) {
        let label = KindLabel { kind: kind.to_string().into() };
        self.job_run_time.get_or_create(&label).observe(elapsed.as_secs_f64());
    }

    pub fn job_finished(&self, outcome: &'static str) {
        self.job_finished_n(outcome, 1);
    }

    pub fn job_finished_n(&self, outcome: &'static str, n: u64) {
        self.jobs_finished.get_or_create(&OutcomeLabel { outcome: outcome.into() }).inc_by(n);
    }

    /// A counter's value, by the name `/metrics` shows it under (for tests and checks).
    pub fn get(&self, family: &str, label: &str) -> u64 {
        let value: Label = label.to_string().into();
        match family {
            "fulcrum_webhooks_total" => self.webhooks.get_or_create(&OutcomeLabel { outcome: value }).get(),
            "fulcrum_lever_calls_total" => self.lever_calls.get_or_create(&StatusLabel { status: value }).get(),
            "fulcrum_emails_total" => self.emails.get_or_create(&OutcomeLabel { outcome: value }).get(),
            "fulcrum_jobs_finished_total" => self.jobs_finished.get_or_create(&OutcomeLabel { outcome: value }).get(),
            _ => 0,
        }
    }

    /// The Prometheus text exposition: this process's metrics, then the database's gauges
    /// (left out when the database could not be read).
    pub fn render(&self, database: Option<&DatabaseGauges>) -> String {
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        if let Some(gauges) = database {
            prometheus_text::encode(&mut out, &gauges.registry()).expect("writing to a String cannot fail");
        }
        out
    }
}

impl DatabaseGauges {
    /// A registry for one scrape, so that values gone from the database (a kind with no
    /// waiting job) leave no stale series behind.
    fn registry(&self) -> Registry {
        let mut registry = Registry::default();
        let jobs = Family::<StateLabel, Gauge>::default();
        for (state, count) in &self.jobs_by_state {
            jobs.get_or_create(&StateLabel { state: state.clone().into() }).set(*count);
        }
        registry.register("fulcrum_jobs", "Jobs waiting or in progress, by state (all processes)", jobs);
        let oldest = Family::<KindLabel, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        for (kind, age) in &self.oldest_waiting {
            oldest.get_or_create(&KindLabel { kind: kind.clone().into() }).set(age.as_secs_f64());
        }
        registry.register(
            "fulcrum_job_oldest_waiting_seconds",
            "How long the oldest due job of each kind has waited for a worker (0 when none waits)",
            oldest,
        );
        let reconnect = Gauge::<i64>::default();
        reconnect.set(self.connections_needing_reconnect);
        registry.register(
            "fulcrum_lever_connections_needing_reconnect",
            "Lever connections whose access was revoked: their organizations' work is paused until an admin \
             reconnects",
            reconnect,
        );
        registry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_database_gauges() {
        let m = Metrics::default();
        m.webhook("accepted", Duration::from_millis(3));
        m.webhook("accepted", Duration::from_millis(4));
        m.webhook("rejected", Duration::from_millis(1));
        m.lever_call("GET /opportunities/{id}", "200", Duration::from_millis(40));
        m.job_claimed("sync_opportunity", Duration::from_millis(12));
        let gauges = DatabaseGauges {
            jobs_by_state: vec![("queued".into(), 3), ("failed".into(), 0)],
            oldest_waiting: vec![("send_email".into(), Duration::from_secs(90))],
            connections_needing_reconnect: 2,
        };
        let text = m.render(Some(&gauges));
        for line in [
            "# TYPE fulcrum_webhooks_total counter",
            "fulcrum_webhooks_total{outcome=\"accepted\"} 2",
            "fulcrum_webhooks_total{outcome=\"rejected\"} 1",
            "# TYPE fulcrum_webhook_ack_seconds histogram",
            "fulcrum_webhook_ack_seconds_count{outcome=\"accepted\"} 2",
            "fulcrum_lever_call_seconds_count{endpoint=\"GET /opportunities/{id}\",status=\"200\"} 1",
            "fulcrum_lever_calls_total{status=\"200\"} 1",
            "fulcrum_job_queue_wait_seconds_count{kind=\"sync_opportunity\"} 1",
            "fulcrum_jobs{state=\"queued\"} 3",
            "fulcrum_jobs{state=\"failed\"} 0",
            "fulcrum_job_oldest_waiting_seconds{kind=\"send_email\"} 90",
            "fulcrum_lever_connections_needing_reconnect 2",
        ] {
            assert!(text.lines().any(|l| l == line || l.starts_with(&format!("{line}."))), "{line} in:\n{text}");
        }
        assert_eq!(m.get("fulcrum_webhooks_total", "accepted"), 2);
        assert!(!m.render(None).contains("fulcrum_jobs{"), "no database, no gauges");
    }
}
